import type BetterSqlite3 from 'better-sqlite3';
import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import { quoteName } from '../sql-name.js';
import { onLocalAdd, ringLocal, wakeKey } from './local-wake.js';
import { type OutboxInput, type OutboxValidationOptions, prepareRows } from './outbox-entry.js';
import {
  type ClaimedRow,
  RELAY_STORE,
  type RelaySource,
  type RelayStore,
  type RelayStoreOptions,
} from './relay-store.js';

/** Options of {@link createSqliteOutbox}. */
export interface SqliteOutboxOptions extends OutboxValidationOptions {
  /** Table name (an SQL identifier). Default `sluice_outbox`. */
  readonly table?: string;
}

/**
 * A transactional outbox in a service's own SQLite database
 * (better-sqlite3). Everything is synchronous, so it can run inside the
 * caller's `db.transaction(…)`.
 */
export interface SqliteOutbox extends RelaySource {
  readonly dialect: 'sqlite';
  /** The database it writes to. */
  readonly db: BetterSqlite3.Database;
  /** Its table name. */
  readonly table: string;
  /** The validation options it was created with (registry, size limit). */
  readonly validation: OutboxValidationOptions;
  /** Creates the table and its indexes if missing (idempotent). */
  install(): void;
  /**
   * Validates the entries and inserts one row per event, synchronously.
   * Call it inside the transaction of the state change (`db.transaction(() =>
   * { …; outbox.add([event]) })()`): the events commit or roll back with it.
   * Standalone, it commits at once. A bad entry throws `invalid_argument`
   * (`MESSAGING_INVALID_MESSAGE` with every field, or
   * `MESSAGING_MESSAGE_TOO_LARGE`) before anything is written, so the
   * caller's transaction rolls back. An event whose id is already in the
   * table is skipped (one id is one event, as consumers deduplicate).
   * Returns how many rows were inserted. Relays of this file in this process
   * are woken once the transaction has committed.
   */
  add(entries: readonly OutboxInput[]): number;
}

/**
 * Creates the outbox of a SQLite database. Call `install()` once (at start,
 * or in a migration).
 *
 * @example
 * ```ts
 * const outbox = createSqliteOutbox(db, { registry });
 * outbox.install();
 * db.transaction(() => {
 *   db.prepare('INSERT INTO orders (id, status) VALUES (?, ?)').run(order.id, 'pending');
 *   outbox.add([placedEvent]);
 * })();
 * ```
 */
export function createSqliteOutbox(
  db: BetterSqlite3.Database,
  options: SqliteOutboxOptions = {},
): SqliteOutbox {
  if (typeof db?.prepare !== 'function')
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      'a better-sqlite3 Database is required',
      [{ field: 'db', message: 'a better-sqlite3 Database' }],
    );
  const table = options.table ?? 'sluice_outbox';
  const t = quoteName('table', table);
  const validation: OutboxValidationOptions = {
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
  };
  const key = wakeKey(db.name, table);
  let insert: BetterSqlite3.Statement | undefined;
  const inTransaction = () => db.open && db.inTransaction;

  const install = () => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS ${t} (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        topic TEXT NOT NULL,
        ordering_key TEXT,
        priority TEXT NOT NULL DEFAULT 'normal',
        deliver_at INTEGER,
        envelope TEXT NOT NULL,
        headers TEXT,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        lease_owner TEXT,
        lease_until INTEGER,
        sent_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS "${table}_unsent" ON ${t} (seq) WHERE sent_at IS NULL;
      CREATE INDEX IF NOT EXISTS "${table}_key" ON ${t} (ordering_key, seq) WHERE sent_at IS NULL;
      CREATE INDEX IF NOT EXISTS "${table}_sent" ON ${t} (sent_at) WHERE sent_at IS NOT NULL;
    `);
  };

  const outbox: SqliteOutbox = {
    dialect: 'sqlite',
    db,
    table,
    validation,
    install,
    add(entries) {
      const rows = prepareRows(entries, validation);
      if (rows.length === 0) return 0;
      insert ??= db.prepare(
        `INSERT INTO ${t} (id, topic, ordering_key, priority, deliver_at, envelope, headers, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      );
      const now = Date.now();
      let added = 0;
      for (const r of rows)
        added += insert.run(
          r.id,
          r.topic,
          r.orderingKey,
          r.priority,
          r.deliverAt,
          r.envelope,
          r.headers,
          now,
        ).changes;
      if (added > 0) ringLocal(key, inTransaction);
      return added;
    },
    [RELAY_STORE]: (relayOptions) => sqliteRelayStore(db, t, key, relayOptions),
  };
  return outbox;
}

interface RawRow {
  seq: number;
  id: string;
  topic: string;
  ordering_key: string | null;
  priority: ClaimedRow['priority'];
  deliver_at: number | null;
  envelope: string;
  headers: string | null;
  attempts: number;
}

/** Real (not virtual) waits: they wait for the connection to leave a caller's transaction, not for time. */
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function sqliteRelayStore(
  db: BetterSqlite3.Database,
  t: string,
  key: string,
  options: RelayStoreOptions,
): RelayStore {
  // A blocked row: leased by a live lease, or waiting for its retry time.
  const blocked = (alias: string) =>
    `(${alias}.next_attempt_at > @now OR (${alias}.lease_until IS NOT NULL AND ${alias}.lease_until > @now))`;
  // Prepared on first use, so a relay may be created before `install()`.
  let statements: ReturnType<typeof prepare> | undefined;
  const prepare = () => ({
    claim: db.prepare(`
    UPDATE ${t} SET lease_owner = @owner, lease_until = @until
    WHERE seq IN (
      SELECT o.seq FROM ${t} o
      WHERE o.sent_at IS NULL AND NOT ${blocked('o')}
        AND (o.ordering_key IS NULL OR NOT EXISTS (
          SELECT 1 FROM ${t} p
          WHERE p.ordering_key = o.ordering_key AND p.sent_at IS NULL AND p.seq < o.seq AND ${blocked('p')}))
      ORDER BY o.seq LIMIT @limit)
    RETURNING seq, id, topic, ordering_key, priority, deliver_at, envelope, headers, attempts`),
    sent:
      options.retentionMs === 0
        ? db.prepare(`DELETE FROM ${t} WHERE seq = @seq AND lease_owner = @owner`)
        : db.prepare(
            `UPDATE ${t} SET sent_at = @now, lease_owner = NULL, lease_until = NULL WHERE seq = @seq AND lease_owner = @owner`,
          ),
    failed: db.prepare(
      `UPDATE ${t} SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
     WHERE seq = ? AND lease_owner = ?`,
    ),
    release: db.prepare(
      `UPDATE ${t} SET lease_owner = NULL, lease_until = NULL WHERE seq = ? AND lease_owner = ?`,
    ),
    nextDue: db.prepare(
      `SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > @now AND lease_until > next_attempt_at
                     THEN lease_until ELSE next_attempt_at END) AS due
     FROM ${t} WHERE sent_at IS NULL AND ${blocked(t)}`,
    ),
    prune: db.prepare(
      `DELETE FROM ${t} WHERE seq IN (SELECT seq FROM ${t} WHERE sent_at IS NOT NULL AND sent_at < ? LIMIT ?)`,
    ),
  });

  // Never run a relay statement inside a caller's open transaction on this
  // connection (a manual BEGIN across an await): it would see uncommitted rows
  // and its marks would roll back with the caller's work.
  const outside = async <T>(fn: (s: ReturnType<typeof prepare>) => T): Promise<T> => {
    while (db.open && db.inTransaction) await pause(5);
    if (!db.open)
      throw messagingError('failed_precondition', MessagingReasons.CLOSED, 'the outbox database is closed');
    statements ??= prepare();
    return fn(statements);
  };

  return {
    claim: (owner, now, leaseMs, limit) =>
      outside(({ claim }) =>
        (claim.all({ owner, until: now + leaseMs, now, limit }) as RawRow[])
          .map(
            (r): ClaimedRow => ({
              seq: r.seq,
              id: r.id,
              topic: r.topic,
              orderingKey: r.ordering_key,
              priority: r.priority,
              deliverAt: r.deliver_at,
              envelope: r.envelope,
              headers: r.headers,
              attempts: r.attempts,
            }),
          )
          .sort((a, b) => a.seq - b.seq),
      ),
    markSent: (owner, seqs, now) =>
      outside(({ sent }) =>
        db.transaction(() => {
          for (const seq of seqs) sent.run(options.retentionMs === 0 ? { seq, owner } : { seq, owner, now });
        })(),
      ),
    markFailed: (owner, seqs, nextAttemptAt, error) =>
      outside(({ failed }) =>
        db.transaction(() => {
          for (const seq of seqs) failed.run(error.slice(0, 2_000), nextAttemptAt, seq, owner);
        })(),
      ),
    release: (owner, seqs) =>
      outside(({ release }) =>
        db.transaction(() => {
          for (const seq of seqs) release.run(seq, owner);
        })(),
      ),
    nextDue: (now) =>
      outside(({ nextDue }) => {
        const due = (nextDue.get({ now }) as { due: number | null } | undefined)?.due;
        return due === null || due === undefined ? undefined : due;
      }),
    prune: (sentBefore, limit) => outside(({ prune }) => prune.run(sentBefore, limit).changes),
    async watch(wake) {
      // The row is visible only once the adding transaction commits: check
      // on the next turn (a `db.transaction(…)` has committed by then), and
      // again shortly while the adding connection is still inside one.
      let pending = false;
      const ring = (inTransaction: () => boolean) => {
        if (pending) return;
        pending = true;
        const check = (tries: number) => {
          if (inTransaction() && tries < 2_000) {
            setTimeout(() => check(tries + 1), 5);
            return;
          }
          pending = false;
          wake();
        };
        setImmediate(() => check(0));
      };
      const off = onLocalAdd(key, ring);
      return async () => off();
    },
  };
}
