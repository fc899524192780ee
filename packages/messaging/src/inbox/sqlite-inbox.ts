import type { EventEnvelope } from '@sluice/contracts';
import type BetterSqlite3 from 'better-sqlite3';
import type { EventHandler, MessageContext } from '../bus/bus.js';
import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import { quoteName } from '../sql-name.js';
import { assertInboxKey, INBOX_PRUNE_EVERY_MS, INBOX_PRUNE_LIMIT, retentionOf } from './inbox-input.js';

/** Options of {@link createSqliteInbox}. */
export interface SqliteInboxOptions {
  /** Table name (an SQL identifier). Default `sluice_inbox`. */
  readonly table?: string;
  /**
   * How long a "handled" mark is kept, in ms. A duplicate arriving later than
   * this would run again, so keep it far beyond every redelivery window
   * (lease, retry backoff, a relay's lease). Default 7 days.
   */
  readonly retentionMs?: number;
  /** Wall clock (epoch ms) for the marks' times. Default `Date.now`. */
  readonly now?: () => number;
}

/** A synchronous handler run inside the inbox transaction (better-sqlite3 transactions cannot span an `await`). */
export type SqliteInboxHandler<T = unknown> = (event: EventEnvelope<T>, ctx: MessageContext) => void;

/**
 * The inbox (idempotent consumer) of a SQLite database: the record "consumer
 * C handled event E" commits in the same transaction as the handler's writes,
 * so a redelivered event has no second effect.
 */
export interface SqliteInbox {
  readonly db: BetterSqlite3.Database;
  readonly table: string;
  /** Creates the table and index if missing (idempotent). */
  install(): void;
  /**
   * Records that `consumer` handled `eventId`, synchronously, in the caller's
   * transaction: `true` the first time, `false` for a duplicate (then do
   * nothing). If the transaction rolls back, so does the mark.
   */
  markHandled(consumer: string, eventId: string): boolean;
  /**
   * Wraps a synchronous handler into a bus handler that runs
   * `db.transaction(() => { if (markHandled(consumer, event.id)) fn(event, ctx) })`:
   * a duplicate is acknowledged without calling `fn`; `fn` throwing rolls
   * back its writes and the mark (the bus retries). `fn` returning a promise
   * is refused (`MESSAGING_SYNC_REQUIRED`, rolled back). Prunes old marks
   * after a commit, at most once an hour.
   */
  handler<T = unknown>(consumer: string, fn: SqliteInboxHandler<T>): EventHandler<T>;
  /** Deletes marks older than the retention (up to 10 000 per call); returns how many. */
  prune(): number;
}

/**
 * Creates the inbox of a SQLite database. Call `install()` once.
 *
 * @example
 * ```ts
 * const inbox = createSqliteInbox(db);
 * inbox.install();
 * await bus.subscribe('order.placed', { group: 'inventory' }, inbox.handler('inventory', (event) => {
 *   db.prepare('UPDATE stock SET reserved = reserved + ? WHERE sku = ?').run(event.data.qty, event.data.sku);
 * }));
 * ```
 */
export function createSqliteInbox(db: BetterSqlite3.Database, options: SqliteInboxOptions = {}): SqliteInbox {
  if (typeof db?.prepare !== 'function')
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      'a better-sqlite3 Database is required',
      [{ field: 'db', message: 'a better-sqlite3 Database' }],
    );
  const table = options.table ?? 'sluice_inbox';
  const t = quoteName('table', table);
  const retentionMs = retentionOf(options.retentionMs);
  const now = options.now ?? Date.now;
  let mark: BetterSqlite3.Statement | undefined;
  let lastPrune = Number.NEGATIVE_INFINITY;

  const markHandled = (consumer: string, eventId: string): boolean => {
    assertInboxKey(consumer, eventId);
    mark ??= db.prepare(
      `INSERT INTO ${t} (consumer, event_id, handled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    return mark.run(consumer, eventId, now()).changes === 1;
  };
  const prune = (): number =>
    db
      .prepare(
        `DELETE FROM ${t} WHERE (consumer, event_id) IN (
           SELECT consumer, event_id FROM ${t} WHERE handled_at < ? LIMIT ${INBOX_PRUNE_LIMIT})`,
      )
      .run(now() - retentionMs).changes;

  return {
    db,
    table,
    install() {
      db.exec(`
        CREATE TABLE IF NOT EXISTS ${t} (
          consumer TEXT NOT NULL,
          event_id TEXT NOT NULL,
          handled_at INTEGER NOT NULL,
          PRIMARY KEY (consumer, event_id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS "${table}_handled_at" ON ${t} (handled_at);
      `);
    },
    markHandled,
    prune,
    handler<T>(consumer: string, fn: SqliteInboxHandler<T>): EventHandler<T> {
      assertInboxKey(consumer, 'x');
      if (typeof fn !== 'function')
        throw messagingError(
          'invalid_argument',
          MessagingReasons.INVALID_MESSAGE,
          'handler must be a function',
          [{ field: 'fn', message: 'a synchronous function' }],
        );
      const run = db.transaction((event: EventEnvelope<T>, ctx: MessageContext) => {
        if (!markHandled(consumer, event.id)) return;
        const result: unknown = fn(event, ctx);
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function')
          throw messagingError(
            'failed_precondition',
            MessagingReasons.SYNC_REQUIRED,
            `inbox handler of ${consumer} returned a promise: SQLite handlers run inside a synchronous transaction`,
          );
      });
      return (event, ctx) => {
        run(event, ctx);
        const at = now();
        if (at - lastPrune >= INBOX_PRUNE_EVERY_MS) {
          lastPrune = at;
          prune();
        }
      };
    },
  };
}
