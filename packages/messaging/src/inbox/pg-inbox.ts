import type { EventEnvelope } from '@sluice/contracts';
import type pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import type { EventHandler, MessageContext } from '../bus/bus.js';
import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import { quoteName } from '../sql-name.js';
import { assertInboxKey, INBOX_PRUNE_EVERY_MS, INBOX_PRUNE_LIMIT, retentionOf } from './inbox-input.js';

/** Options of {@link createPgInbox}. */
export interface PgInboxOptions {
  /** Schema of the table (created by `install` if missing). Default `public`. */
  readonly schema?: string;
  /** Table name. Default `sluice_inbox`. */
  readonly table?: string;
  /** How long a "handled" mark is kept, in ms; keep it far beyond every redelivery window. Default 7 days. */
  readonly retentionMs?: number;
  /** Wall clock (epoch ms) for the marks' times. Default `Date.now`. */
  readonly now?: () => number;
}

/** A handler run inside the inbox transaction, on its client: do the handler's writes on `client`. */
export type PgInboxHandler<T = unknown> = (
  event: EventEnvelope<T>,
  client: PoolClient,
  ctx: MessageContext,
) => Promise<void>;

/** The inbox (idempotent consumer) of a PostgreSQL database. */
export interface PgInbox {
  readonly schema: string;
  readonly table: string;
  /** Creates the schema, table and index if missing (idempotent). */
  install(pool: Pool): Promise<void>;
  /**
   * Records that `consumer` handled `eventId` on `client`, inside the caller's
   * transaction: `true` the first time, `false` for a duplicate. A concurrent
   * delivery of the same event waits for this transaction and then gets
   * `false` (or `true` if this one rolled back).
   */
  markHandled(client: PoolClient | pg.Client, consumer: string, eventId: string): Promise<boolean>;
  /**
   * A bus handler running `BEGIN; markHandled; fn(event, client, ctx); COMMIT`
   * on one pooled client: a duplicate is acknowledged without calling `fn`;
   * `fn` throwing rolls back its writes and the mark (the bus retries). Prunes
   * old marks after a commit, at most once an hour.
   */
  handler<T = unknown>(pool: Pool, consumer: string, fn: PgInboxHandler<T>): EventHandler<T>;
  /** Deletes marks older than the retention (up to 10 000 per call); resolves with how many. */
  prune(pool: Pool): Promise<number>;
}

/**
 * Creates the inbox of a PostgreSQL schema. Call `install(pool)` once.
 *
 * @example
 * ```ts
 * const inbox = createPgInbox({ schema: 'payment' });
 * await inbox.install(pool);
 * await bus.subscribe('inventory.reserved', { group: 'payment' }, inbox.handler(pool, 'payment', async (event, client) => {
 *   await client.query('INSERT INTO payment.charges (order_id) VALUES ($1)', [event.data.orderId]);
 * }));
 * ```
 */
export function createPgInbox(options: PgInboxOptions = {}): PgInbox {
  const schema = options.schema ?? 'public';
  const table = options.table ?? 'sluice_inbox';
  const s = quoteName('schema', schema);
  const t = `${s}.${quoteName('table', table)}`;
  const retentionMs = retentionOf(options.retentionMs);
  const now = options.now ?? Date.now;
  let lastPrune = Number.NEGATIVE_INFINITY;

  const markHandled = async (client: PoolClient | pg.Client, consumer: string, eventId: string) => {
    assertInboxKey(consumer, eventId);
    const res = await client.query(
      `INSERT INTO ${t} (consumer, event_id, handled_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [consumer, eventId, now()],
    );
    return res.rowCount === 1;
  };
  const prune = async (pool: Pool) => {
    const res = await pool.query(
      `DELETE FROM ${t} WHERE (consumer, event_id) IN (
         SELECT consumer, event_id FROM ${t} WHERE handled_at < $1 LIMIT ${INBOX_PRUNE_LIMIT} FOR UPDATE SKIP LOCKED)`,
      [now() - retentionMs],
    );
    return res.rowCount ?? 0;
  };

  return {
    schema,
    table,
    async install(pool) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          `sluice:install:${schema}.${table}`,
        ]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
        await client.query(`
          CREATE TABLE IF NOT EXISTS ${t} (
            consumer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            handled_at BIGINT NOT NULL,
            PRIMARY KEY (consumer, event_id)
          )`);
        await client.query(`CREATE INDEX IF NOT EXISTS "${table}_handled_at" ON ${t} (handled_at)`);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    markHandled,
    prune,
    handler<T>(pool: Pool, consumer: string, fn: PgInboxHandler<T>): EventHandler<T> {
      assertInboxKey(consumer, 'x');
      if (typeof fn !== 'function' || typeof pool?.connect !== 'function')
        throw messagingError(
          'invalid_argument',
          MessagingReasons.INVALID_MESSAGE,
          'handler needs a pool and a function',
          [{ field: typeof fn !== 'function' ? 'fn' : 'pool', message: 'required' }],
        );
      return async (event, ctx) => {
        const client = await pool.connect();
        let broken = false;
        try {
          await client.query('BEGIN');
          if (await markHandled(client, consumer, event.id)) await fn(event, client, ctx);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK').catch(() => {
            broken = true;
          });
          throw e;
        } finally {
          // A connection that could not even roll back is not given back to the pool.
          client.release(broken);
        }
        const at = now();
        if (at - lastPrune >= INBOX_PRUNE_EVERY_MS) {
          lastPrune = at;
          await prune(pool).catch(() => undefined);
        }
      };
    },
  };
}
