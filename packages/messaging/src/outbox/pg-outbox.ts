import { createHash } from 'node:crypto';
import pg, { type Pool, type PoolClient } from 'pg';
import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import { quoteName } from '../sql-name.js';
import { type OutboxInput, type OutboxValidationOptions, prepareRows } from './outbox-entry.js';
import {
  type ClaimedRow,
  RELAY_STORE,
  type RelaySource,
  type RelayStore,
  type RelayStoreOptions,
} from './relay-store.js';

/** Options of {@link createPgOutbox}. */
export interface PgOutboxOptions extends OutboxValidationOptions {
  /** Schema of the table (created by `install` if missing). Default `public`. */
  readonly schema?: string;
  /** Table name. Default `sluice_outbox`. */
  readonly table?: string;
}

/** A transactional outbox in a service's own PostgreSQL database (node-postgres). */
export interface PgOutbox extends RelaySource {
  readonly dialect: 'postgres';
  readonly schema: string;
  readonly table: string;
  /** The channel `add` notifies and relays LISTEN on (derived from schema and table, ≤ 63 bytes). */
  readonly channel: string;
  /** Creates the schema, table and indexes if missing (idempotent; safe when several processes start at once). */
  install(pool: Pool): Promise<void>;
  /**
   * Validates the entries and inserts one row per event on `client`, with a
   * `NOTIFY` that PostgreSQL delivers to relays when the transaction commits
   * (nothing when it rolls back). Call it on the client of the state change,
   * between its `BEGIN` and `COMMIT`. A bad entry rejects with
   * `invalid_argument` before any SQL runs; roll the transaction back. An
   * event id already in the table is skipped. Resolves with the rows inserted.
   */
  add(client: PoolClient | pg.Client, entries: readonly OutboxInput[]): Promise<number>;
}

const ROWS_PER_INSERT = 1_000;

/**
 * Creates the outbox of a PostgreSQL schema. Call `install(pool)` once.
 *
 * @example
 * ```ts
 * const outbox = createPgOutbox({ schema: 'orders' });
 * await outbox.install(pool);
 * const client = await pool.connect();
 * try {
 *   await client.query('BEGIN');
 *   await client.query('INSERT INTO orders.orders (id, status) VALUES ($1, $2)', [order.id, 'pending']);
 *   await outbox.add(client, [placedEvent]);
 *   await client.query('COMMIT');
 * } catch (e) { await client.query('ROLLBACK'); throw e; } finally { client.release(); }
 * ```
 */
export function createPgOutbox(options: PgOutboxOptions = {}): PgOutbox {
  const schema = options.schema ?? 'public';
  const table = options.table ?? 'sluice_outbox';
  const s = quoteName('schema', schema);
  const t = `${s}.${quoteName('table', table)}`;
  const channel = `sluice_outbox_${createHash('sha256').update(`${schema}.${table}`).digest('hex').slice(0, 32)}`;
  const validation: OutboxValidationOptions = {
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
  };
  return {
    dialect: 'postgres',
    schema,
    table,
    channel,
    async install(pool) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // Concurrent CREATE … IF NOT EXISTS can still collide in the catalog: serialise installers.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          `sluice:install:${schema}.${table}`,
        ]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
        await client.query(`
          CREATE TABLE IF NOT EXISTS ${t} (
            seq BIGSERIAL PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            topic TEXT NOT NULL,
            ordering_key TEXT,
            priority TEXT NOT NULL DEFAULT 'normal',
            deliver_at BIGINT,
            envelope JSONB NOT NULL,
            headers JSONB,
            created_at BIGINT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL DEFAULT 0,
            last_error TEXT,
            lease_owner TEXT,
            lease_until BIGINT,
            sent_at BIGINT
          )`);
        await client.query(
          `CREATE INDEX IF NOT EXISTS "${table}_unsent" ON ${t} (seq) WHERE sent_at IS NULL`,
        );
        await client.query(
          `CREATE INDEX IF NOT EXISTS "${table}_key" ON ${t} (ordering_key, seq) WHERE sent_at IS NULL`,
        );
        await client.query(
          `CREATE INDEX IF NOT EXISTS "${table}_sent" ON ${t} (sent_at) WHERE sent_at IS NOT NULL`,
        );
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw unavailable('install', e);
      } finally {
        client.release();
      }
    },
    async add(client, entries) {
      const rows = prepareRows(entries, validation);
      if (rows.length === 0) return 0;
      const now = Date.now();
      let added = 0;
      for (let from = 0; from < rows.length; from += ROWS_PER_INSERT) {
        const chunk = rows.slice(from, from + ROWS_PER_INSERT);
        const values: unknown[] = [channel];
        const tuples = chunk.map((r) => {
          const b = values.length;
          values.push(r.id, r.topic, r.orderingKey, r.priority, r.deliverAt, r.envelope, r.headers, now);
          return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}::jsonb, $${b + 7}::jsonb, $${b + 8})`;
        });
        // One round trip: the insert and the NOTIFY (delivered at COMMIT, dropped on ROLLBACK).
        const res = await client.query<{ n: number }>(
          `WITH ins AS (
             INSERT INTO ${t} (id, topic, ordering_key, priority, deliver_at, envelope, headers, created_at)
             VALUES ${tuples.join(', ')} ON CONFLICT (id) DO NOTHING RETURNING 1)
           SELECT (SELECT count(*) FROM ins)::int AS n, pg_notify($1, '') AS notified`,
          values,
        );
        added += res.rows[0]?.n ?? 0;
      }
      return added;
    },
    [RELAY_STORE]: (relayOptions) =>
      pgRelayStore(t, channel, `sluice:claim:${schema}.${table}`, relayOptions),
  };
}

function unavailable(what: string, cause: unknown): Error {
  return messagingError(
    'unavailable',
    MessagingReasons.TRANSPORT_UNAVAILABLE,
    `outbox ${what} failed: ${(cause as Error)?.message ?? String(cause)}`,
    undefined,
    cause,
  );
}

interface RawRow {
  seq: string;
  id: string;
  topic: string;
  ordering_key: string | null;
  priority: ClaimedRow['priority'];
  deliver_at: string | null;
  envelope: unknown;
  headers: unknown;
  attempts: number;
}

function pgRelayStore(t: string, channel: string, claimLock: string, options: RelayStoreOptions): RelayStore {
  const pool = options.pool;
  if (pool === undefined)
    throw messagingError(
      'failed_precondition',
      MessagingReasons.OUTBOX_UNCONFIGURED,
      'a relay of a PostgreSQL outbox needs a pool',
      [{ field: 'pool', message: 'a pg Pool on the outbox database' }],
    );
  const blocked = (a: string) =>
    `(${a}.next_attempt_at > $1 OR (${a}.lease_until IS NOT NULL AND ${a}.lease_until > $1))`;
  const query = async <R extends pg.QueryResultRow>(sql: string, values: unknown[]) => {
    try {
      return await pool.query<R>(sql, values);
    } catch (e) {
      throw unavailable('query', e);
    }
  };
  return {
    async claim(owner, now, leaseMs, limit) {
      const client = await pool.connect().catch((e: unknown) => {
        throw unavailable('claim', e);
      });
      try {
        await client.query('BEGIN');
        // Claims are serialised per outbox (a transaction-scoped advisory lock)
        // so the ordering-key check below sees every lease committed before it:
        // two relays never hold rows of one key at once. Publishing is not
        // serialised; only this short statement is.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [claimLock]);
        const res = await client.query<RawRow>(
          `WITH cand AS (
             SELECT o.seq FROM ${t} o
             WHERE o.sent_at IS NULL AND NOT ${blocked('o')}
               AND (o.ordering_key IS NULL OR NOT EXISTS (
                 SELECT 1 FROM ${t} p
                 WHERE p.ordering_key = o.ordering_key AND p.sent_at IS NULL AND p.seq < o.seq AND ${blocked('p')}))
             ORDER BY o.seq LIMIT $4
             FOR UPDATE SKIP LOCKED)
           UPDATE ${t} x SET lease_owner = $2, lease_until = $3 FROM cand WHERE x.seq = cand.seq
           RETURNING x.seq, x.id, x.topic, x.ordering_key, x.priority, x.deliver_at, x.envelope, x.headers, x.attempts`,
          [now, owner, now + leaseMs, limit],
        );
        await client.query('COMMIT');
        return res.rows
          .map(
            (r): ClaimedRow => ({
              seq: Number(r.seq),
              id: r.id,
              topic: r.topic,
              orderingKey: r.ordering_key,
              priority: r.priority,
              deliverAt: r.deliver_at === null ? null : Number(r.deliver_at),
              envelope: r.envelope,
              headers: r.headers,
              attempts: r.attempts,
            }),
          )
          .sort((a, b) => a.seq - b.seq);
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw unavailable('claim', e);
      } finally {
        client.release();
      }
    },
    async markSent(owner, seqs, now) {
      if (options.retentionMs === 0)
        await query(`DELETE FROM ${t} WHERE seq = ANY($1::bigint[]) AND lease_owner = $2`, [seqs, owner]);
      else
        await query(
          `UPDATE ${t} SET sent_at = $3, lease_owner = NULL, lease_until = NULL
           WHERE seq = ANY($1::bigint[]) AND lease_owner = $2`,
          [seqs, owner, now],
        );
    },
    async markFailed(owner, seqs, nextAttemptAt, error) {
      await query(
        `UPDATE ${t} SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4,
           lease_owner = NULL, lease_until = NULL
         WHERE seq = ANY($1::bigint[]) AND lease_owner = $2`,
        [seqs, owner, error.slice(0, 2_000), nextAttemptAt],
      );
    },
    async release(owner, seqs) {
      await query(
        `UPDATE ${t} SET lease_owner = NULL, lease_until = NULL WHERE seq = ANY($1::bigint[]) AND lease_owner = $2`,
        [seqs, owner],
      );
    },
    async nextDue(now) {
      const res = await query<{ due: string | null }>(
        `SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > $1 AND lease_until > next_attempt_at
                         THEN lease_until ELSE next_attempt_at END) AS due
         FROM ${t} o WHERE sent_at IS NULL AND ${blocked('o')}`,
        [now],
      );
      const due = res.rows[0]?.due;
      return due === null || due === undefined ? undefined : Number(due);
    },
    async prune(sentBefore, limit) {
      const res = await query(
        `DELETE FROM ${t} WHERE seq IN (
           SELECT seq FROM ${t} WHERE sent_at IS NOT NULL AND sent_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [sentBefore, limit],
      );
      return res.rowCount ?? 0;
    },
    watch: (wake, onError) => listen(pool, channel, options, wake, onError),
  };
}

/**
 * LISTENs on `channel` on a dedicated connection (not a pool slot). When the
 * connection fails it reconnects with a capped doubling delay and wakes the
 * relay once reconnected, since a NOTIFY sent while it was down is lost.
 */
async function listen(
  pool: Pool,
  channel: string,
  options: RelayStoreOptions,
  wake: () => void,
  onError: (error: unknown) => void,
): Promise<() => Promise<void>> {
  const { clock } = options;
  let client: pg.Client | undefined;
  let stopped = false;
  let retryMs = 100;
  let timer: unknown;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ ...pool.options, application_name: 'sluice-outbox-relay' });
    let failed = false;
    const fail = (e: unknown) => {
      if (failed || stopped) return;
      failed = true;
      if (client === c) client = undefined;
      c.removeAllListeners('notification');
      c.end().catch(() => undefined);
      onError(unavailable('LISTEN connection', e));
      timer = clock.setTimeout(() => {
        timer = undefined;
        void reconnect();
      }, retryMs);
      retryMs = Math.min(retryMs * 2, 5_000);
    };
    c.on('error', fail);
    c.on('end', () => fail(new Error('connection ended')));
    c.on('notification', (n) => {
      if (n.channel === channel) wake();
    });
    try {
      await c.connect();
      await c.query(`LISTEN "${channel}"`);
    } catch (e) {
      fail(e);
      return;
    }
    if (stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    retryMs = 100;
  };
  const reconnect = async () => {
    if (stopped) return;
    await connect();
    // Anything committed while the connection was down sent its NOTIFY to nobody.
    if (client) wake();
  };

  await connect();
  return async () => {
    stopped = true;
    if (timer !== undefined) clock.clearTimeout(timer);
    const c = client;
    client = undefined;
    if (c) {
      c.removeAllListeners('end');
      await c.end().catch(() => undefined);
    }
  };
}
