import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type {
  IdempotencyBeginResult,
  IdempotencyClaim,
  IdempotencyStore,
  StoredResponse,
} from './idempotency-store.js';

/** Options of {@link createPostgresIdempotencyStore}. */
export interface PostgresIdempotencyStoreOptions {
  /** A `pg` pool (left open by `close()`). */
  readonly pool: pg.Pool;
  /** Schema of the table. Default `public`. */
  readonly schema?: string;
  /** Table name. Default `sluice_idempotency`. */
  readonly table?: string;
}

/** A PostgreSQL idempotency store; call `migrate()` once before use. */
export interface PostgresIdempotencyStore extends IdempotencyStore {
  /** Creates the schema, table and index if missing (safe to run concurrently and repeatedly). */
  migrate(): Promise<void>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

interface Row {
  fingerprint: string;
  state: 'in_flight' | 'completed';
  status: number | null;
  headers: Record<string, string> | null;
  body: Buffer | null;
  expires_at: string;
  locked_until: string;
}

/**
 * An idempotency store in PostgreSQL, shared by every instance of a
 * service. `begin` is one `INSERT … ON CONFLICT DO UPDATE … WHERE` (the
 * update only takes over an expired key or a lapsed lock), so concurrent
 * requests on any number of instances acquire a key exactly once.
 *
 * Table (see decision record 004): `key text primary key, fingerprint text,
 * token uuid, state text, status int, headers jsonb, body bytea,
 * locked_until bigint, expires_at bigint` (epoch ms), indexed on `expires_at`.
 */
export function createPostgresIdempotencyStore(
  options: PostgresIdempotencyStoreOptions,
): PostgresIdempotencyStore {
  const schema = options.schema ?? 'public';
  const table = options.table ?? 'sluice_idempotency';
  if (!NAME.test(schema) || !NAME.test(table))
    throw new RangeError('createPostgresIdempotencyStore: schema and table must be plain identifiers');
  const t = `"${schema}"."${table}"`;
  const pool = options.pool;

  const acquireSql = `INSERT INTO ${t} AS t (key, fingerprint, token, state, locked_until, expires_at)
    VALUES ($1, $2, $3, 'in_flight', $4, $5)
    ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, token = EXCLUDED.token,
      state = 'in_flight', status = NULL, headers = NULL, body = NULL,
      locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
    WHERE t.expires_at <= $6
       OR (t.state = 'in_flight' AND t.locked_until <= $6 AND t.fingerprint = EXCLUDED.fingerprint)
    RETURNING token`;
  const selectSql = `SELECT fingerprint, state, status, headers, body, expires_at, locked_until FROM ${t} WHERE key = $1`;

  return {
    async migrate() {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // Serialises concurrent migrations (CREATE … IF NOT EXISTS races on the catalog otherwise).
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [t]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${t} (
          key text PRIMARY KEY,
          fingerprint text NOT NULL,
          token uuid NOT NULL,
          state text NOT NULL CHECK (state IN ('in_flight', 'completed')),
          status integer,
          headers jsonb,
          body bytea,
          locked_until bigint NOT NULL,
          expires_at bigint NOT NULL
        )`);
        await client.query(`CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON ${t} (expires_at)`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async begin(claim: IdempotencyClaim): Promise<IdempotencyBeginResult> {
      // A record can vanish between the failed insert and the select (purged,
      // released): then try again. Three rounds are plenty.
      for (let round = 0; round < 3; round++) {
        const token = randomUUID();
        const acquired = await pool.query(acquireSql, [
          claim.key,
          claim.fingerprint,
          token,
          claim.lockedUntil,
          claim.expiresAt,
          claim.now,
        ]);
        if (acquired.rowCount === 1) return { state: 'acquired', token };
        const found = await pool.query<Row>(selectSql, [claim.key]);
        const row = found.rows[0];
        if (row === undefined) continue;
        if (row.fingerprint !== claim.fingerprint) return { state: 'mismatch' };
        if (row.state === 'completed') return { state: 'completed', response: toResponse(row) };
        return { state: 'in_flight' };
      }
      return { state: 'in_flight' };
    },
    async complete(key, token, response, expiresAt) {
      const r = await pool.query(
        `UPDATE ${t} SET state = 'completed', status = $3, headers = $4, body = $5, expires_at = $6
         WHERE key = $1 AND token = $2 AND state = 'in_flight'`,
        [
          key,
          token,
          response.status,
          JSON.stringify(response.headers),
          Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength),
          expiresAt,
        ],
      );
      return r.rowCount === 1;
    },
    async release(key, token) {
      await pool.query(`DELETE FROM ${t} WHERE key = $1 AND token = $2 AND state = 'in_flight'`, [
        key,
        token,
      ]);
    },
    async purgeExpired(now) {
      const r = await pool.query(`DELETE FROM ${t} WHERE expires_at <= $1`, [now]);
      return r.rowCount ?? 0;
    },
    async close() {},
  };
}

function toResponse(row: Row): StoredResponse {
  return {
    status: row.status ?? 200,
    headers: row.headers ?? {},
    body: row.body === null ? new Uint8Array() : new Uint8Array(row.body),
  };
}
