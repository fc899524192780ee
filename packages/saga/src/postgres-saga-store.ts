import { createHash } from 'node:crypto';
import pg from 'pg';
import {
  isOutboxTableSink,
  outboxRow,
  outboxTableSink,
  SAGA_OUTBOX_TABLE,
  type SagaEnvelope,
  type SagaEventSink,
} from './event-sink.js';
import type { HistoryEntry } from './saga-record.js';
import type { ClaimedSaga, SagaStore, Transition } from './saga-store.js';
import { historyFromRow, historyValues, sagaFromRow, stepFromRow, stepValues } from './store-rows.js';

/** Options of {@link createPostgresSagaStore}. */
export interface PostgresSagaStoreOptions {
  /** `postgres://…` address, used when no `pool` is given. */
  readonly connectionString?: string;
  /** A pool to use (not ended by `close()`). */
  readonly pool?: pg.Pool;
  /** Connections of the pool the store creates. Default 10. */
  readonly maxConnections?: number;
  /** Schema of the saga tables (created by `migrate()`). Default `public`. */
  readonly schema?: string;
  /** Where lifecycle events go, inside each transition's transaction. Default {@link outboxTableSink}. */
  readonly events?: SagaEventSink;
}

const statementNames = new Map<string, string>();

/** A stable prepared-statement name for a statement text. */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `sluice_saga_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
    if (statementNames.size < 1_000) statementNames.set(sql, name);
  }
  return name;
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Builds SQL with numbered parameters. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

const STEP_CASTS = [
  'text',
  'text',
  'int',
  'text',
  'text',
  'int',
  'bigint',
  'bigint',
  'text',
  'int',
  'bigint',
];
const HISTORY_CASTS = ['text', 'text', 'text', 'text', 'int', 'bigint', 'float8', 'text', 'text', 'text'];
const HISTORY_COLS = 'saga_id, step, phase, event, attempt, at, duration_ms, error, owner, note';
const OUTBOX_COLS = 'id, topic, key, envelope, created_at';

/**
 * The saga log in PostgreSQL. Every transition (fenced update, step row,
 * history, and — with the built-in {@link outboxTableSink} — its outbox rows)
 * is one SQL statement, so it costs one round trip; a custom sink runs in
 * `BEGIN … COMMIT` with it. Claims use `FOR UPDATE SKIP LOCKED`, so
 * competing orchestrators never wait on each other.
 *
 * @example
 * ```ts
 * const store = createPostgresSagaStore({ connectionString: 'postgres://localhost/shop', schema: 'orchestrator' });
 * await store.migrate();
 * ```
 */
export function createPostgresSagaStore(options: PostgresSagaStoreOptions): SagaStore {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_PATTERN.test(schema)) throw new RangeError(`invalid schema name ${JSON.stringify(schema)}`);
  const owned = options.pool === undefined;
  const pool =
    options.pool ??
    new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 10 });
  const sink = options.events ?? outboxTableSink();
  const builtin = isOutboxTableSink(sink) ? sink : undefined;
  const S = `"${schema}"`;
  const T = {
    sagas: `${S}.sluice_sagas`,
    steps: `${S}.sluice_saga_steps`,
    history: `${S}.sluice_saga_history`,
    outbox: `${S}.${SAGA_OUTBOX_TABLE}`,
  };
  const ACTIVE = `state IN ('running', 'compensating')`;

  const valuesOf = (p: Params, rows: readonly unknown[][], casts: readonly string[]) =>
    rows.map((r) => `(${r.map((v, i) => p.add(v, casts[i] as string)).join(', ')})`).join(', ');

  /** `, name AS (INSERT … SELECT … WHERE EXISTS (SELECT 1 FROM guard))` parts for history and outbox rows. */
  const inserts = (
    p: Params,
    guard: string,
    history: readonly HistoryEntry[],
    events: readonly SagaEnvelope[],
  ): string => {
    let sql = '';
    if (history.length > 0) {
      sql += `, h AS (INSERT INTO ${T.history} (${HISTORY_COLS}) SELECT v.* FROM (VALUES ${valuesOf(
        p,
        history.map(historyValues),
        HISTORY_CASTS,
      )}) AS v(${HISTORY_COLS}) WHERE EXISTS (SELECT 1 FROM ${guard}))`;
    }
    if (builtin !== undefined && events.length > 0) {
      const rows = events.map((e) => [...outboxRow(builtin, e), Date.parse(e.time)]);
      sql += `, o AS (INSERT INTO ${T.outbox} (${OUTBOX_COLS}) SELECT v.* FROM (VALUES ${valuesOf(p, rows, [
        'text',
        'text',
        'text',
        'jsonb',
        'bigint',
      ])}) AS v(${OUTBOX_COLS}) WHERE EXISTS (SELECT 1 FROM ${guard}))`;
    }
    return sql;
  };

  /**
   * Runs one statement whose first CTE guards the rest. With a custom sink:
   * inside a transaction, calling the sink when the guard matched.
   */
  const run = async (
    sql: string,
    values: unknown[],
    events: readonly SagaEnvelope[],
  ): Promise<Record<string, unknown>[]> => {
    // Transition statements come in a few shapes (with or without a step row,
    // n history and event rows): named, each is parsed and planned once per
    // connection instead of on every commit.
    const query = { name: statementName(sql), text: sql, values };
    if (builtin !== undefined || events.length === 0) return (await pool.query(query)).rows;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const rows = (await client.query(query)).rows;
      if (rows.length > 0) await sink.append({ dialect: 'postgres', client, schema }, events);
      await client.query('COMMIT');
      return rows;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };

  const stepsOf = async (ids: readonly string[]) => {
    const rows = (
      await pool.query(`SELECT * FROM ${T.steps} WHERE saga_id = ANY($1::text[]) ORDER BY idx`, [ids])
    ).rows;
    const by = new Map<string, ReturnType<typeof stepFromRow>[]>();
    for (const row of rows) {
      const list = by.get(row.saga_id) ?? [];
      list.push(stepFromRow(row));
      by.set(row.saga_id, list);
    }
    return by;
  };

  return {
    dialect: 'postgres',
    async migrate() {
      // Orchestrators starting together must not race on CREATE … IF NOT EXISTS
      // (PostgreSQL can fail one with a duplicate catalog key): serialise them.
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT pg_advisory_xact_lock(hashtext('sluice_saga_migrate'))`);
        await client.query(`
        CREATE SCHEMA IF NOT EXISTS ${S};
        CREATE TABLE IF NOT EXISTS ${T.sagas} (
          id TEXT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, input TEXT NOT NULL,
          step_index INT NOT NULL DEFAULT 0, error TEXT, cancel_requested INT NOT NULL DEFAULT 0,
          deadline_at BIGINT, correlation_id TEXT NOT NULL, causation_id TEXT,
          lease_owner TEXT, lease_expires_at BIGINT, version BIGINT NOT NULL DEFAULT 0,
          created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, finished_at BIGINT);
        CREATE INDEX IF NOT EXISTS sluice_sagas_claim ON ${T.sagas} (created_at) WHERE ${ACTIVE};
        CREATE INDEX IF NOT EXISTS sluice_sagas_list ON ${T.sagas} (state, created_at);
        CREATE TABLE IF NOT EXISTS ${T.steps} (
          saga_id TEXT NOT NULL, step TEXT NOT NULL, idx INT NOT NULL, status TEXT NOT NULL, output TEXT,
          attempts INT NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT NOT NULL, error TEXT,
          compensation_attempts INT NOT NULL DEFAULT 0, compensated_at BIGINT, PRIMARY KEY (saga_id, step));
        CREATE TABLE IF NOT EXISTS ${T.history} (
          seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, saga_id TEXT NOT NULL, step TEXT,
          phase TEXT NOT NULL, event TEXT NOT NULL, attempt INT, at BIGINT NOT NULL, duration_ms FLOAT8,
          error TEXT, owner TEXT, note TEXT);
        CREATE INDEX IF NOT EXISTS sluice_saga_history_saga ON ${T.history} (saga_id, seq);
        CREATE TABLE IF NOT EXISTS ${T.outbox} (
          id TEXT PRIMARY KEY, topic TEXT NOT NULL, key TEXT, envelope JSONB NOT NULL,
          created_at BIGINT NOT NULL, sent_at BIGINT);
        CREATE INDEX IF NOT EXISTS ${SAGA_OUTBOX_TABLE}_unsent ON ${T.outbox} (created_at) WHERE sent_at IS NULL;
      `);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },

    async create(saga, events) {
      const p = new Params();
      const sql = `WITH g AS (INSERT INTO ${T.sagas} (id, name, state, input, correlation_id, causation_id,
          deadline_at, lease_owner, lease_expires_at, version, created_at, updated_at)
        VALUES (${p.add(saga.id, 'text')}, ${p.add(saga.name, 'text')}, 'running',
          ${p.add(JSON.stringify(saga.input ?? null), 'text')}, ${p.add(saga.correlationId, 'text')},
          ${p.add(saga.causationId ?? null, 'text')}, ${p.add(saga.deadlineAt ?? null, 'bigint')},
          ${p.add(saga.leaseOwner ?? null, 'text')}, ${p.add(saga.leaseExpiresAt ?? null, 'bigint')}, 0,
          ${p.add(saga.now, 'bigint')}, ${p.add(saga.now, 'bigint')})
        ON CONFLICT (id) DO NOTHING RETURNING *)${inserts(p, 'g', [], events)} SELECT * FROM g`;
      const rows = await run(sql, p.values, events);
      if (rows[0] !== undefined) return { created: true, record: sagaFromRow(rows[0]) };
      const existing = (await pool.query(`SELECT * FROM ${T.sagas} WHERE id = $1`, [saga.id])).rows[0];
      return { created: false, record: sagaFromRow(existing) };
    },

    async claim(owner, now, until, limit, names): Promise<ClaimedSaga[]> {
      const free = `(lease_owner IS NULL OR lease_expires_at < $3)`;
      const rows = (
        await pool.query(
          `UPDATE ${T.sagas} SET lease_owner = $1, lease_expires_at = $2, version = version + 1
           WHERE id IN (SELECT id FROM ${T.sagas} WHERE ${ACTIVE} AND ${free} AND name = ANY($5::text[])
                        ORDER BY created_at LIMIT $4 FOR UPDATE SKIP LOCKED) AND ${free}
           RETURNING *`,
          [owner, until, now, limit, names],
        )
      ).rows;
      if (rows.length === 0) return [];
      const steps = await stepsOf(rows.map((r) => r.id as string));
      return rows.map((row) => ({ record: sagaFromRow(row), steps: steps.get(row.id as string) ?? [] }));
    },

    async renew(owner, until, ids) {
      if (ids.length === 0) return 0;
      const r = await pool.query(
        `UPDATE ${T.sagas} SET lease_expires_at = $1 WHERE lease_owner = $2 AND ${ACTIVE} AND id = ANY($3::text[])`,
        [until, owner, ids],
      );
      return r.rowCount ?? 0;
    },

    async commit(t: Transition) {
      const p = new Params();
      const fin = p.add(t.finished, 'boolean');
      const now = p.add(t.now, 'bigint');
      let sql = `WITH g AS (UPDATE ${T.sagas} SET state = ${p.add(t.state, 'text')},
          step_index = ${p.add(t.stepIndex, 'int')},
          error = ${p.add(t.error === undefined ? null : JSON.stringify(t.error), 'text')},
          updated_at = ${now}, version = version + 1,
          finished_at = CASE WHEN ${fin} THEN ${now} ELSE NULL END,
          lease_owner = CASE WHEN ${fin} THEN NULL ELSE lease_owner END,
          lease_expires_at = CASE WHEN ${fin} THEN NULL ELSE lease_expires_at END
        WHERE id = ${p.add(t.sagaId, 'text')} AND version = ${p.add(t.version, 'bigint')}
          AND lease_owner = ${p.add(t.owner, 'text')} RETURNING cancel_requested)`;
      if (t.step !== undefined) {
        const v = stepValues(t.sagaId, t.step).map((x, i) => p.add(x, STEP_CASTS[i] as string));
        sql += `, st AS (INSERT INTO ${T.steps} (saga_id, step, idx, status, output, attempts, started_at, ended_at,
            error, compensation_attempts, compensated_at) SELECT ${v.join(', ')} WHERE EXISTS (SELECT 1 FROM g)
          ON CONFLICT (saga_id, step) DO UPDATE SET status = excluded.status, output = excluded.output,
            attempts = excluded.attempts, started_at = excluded.started_at, ended_at = excluded.ended_at,
            error = excluded.error, compensation_attempts = excluded.compensation_attempts,
            compensated_at = excluded.compensated_at)`;
      }
      sql += `${inserts(p, 'g', t.history, t.events)} SELECT cancel_requested FROM g`;
      const rows = await run(sql, p.values, t.events);
      const row = rows[0];
      return row === undefined
        ? { ok: false }
        : { ok: true, cancelRequested: Number(row.cancel_requested) === 1 };
    },

    async release(owner, ids) {
      if (ids === undefined) {
        await pool.query(
          `UPDATE ${T.sagas} SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1`,
          [owner],
        );
      } else if (ids.length > 0) {
        await pool.query(
          `UPDATE ${T.sagas} SET lease_owner = NULL, lease_expires_at = NULL
           WHERE lease_owner = $1 AND id = ANY($2::text[])`,
          [owner, ids],
        );
      }
    },

    async appendHistory(entries) {
      if (entries.length === 0) return;
      const p = new Params();
      await pool.query(
        `INSERT INTO ${T.history} (${HISTORY_COLS}) VALUES ${valuesOf(p, entries.map(historyValues), HISTORY_CASTS)}`,
        p.values,
      );
    },

    async get(id) {
      const row = (await pool.query(`SELECT * FROM ${T.sagas} WHERE id = $1`, [id])).rows[0];
      return row === undefined ? undefined : sagaFromRow(row);
    },

    async steps(id) {
      return (await stepsOf([id])).get(id) ?? [];
    },

    async history(id) {
      const rows = (await pool.query(`SELECT * FROM ${T.history} WHERE saga_id = $1 ORDER BY seq`, [id]))
        .rows;
      return rows.map(historyFromRow);
    },

    async list(filter) {
      const rows = (
        await pool.query(
          `SELECT * FROM ${T.sagas} WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR name = $2)
           ORDER BY created_at DESC, id LIMIT $3`,
          [filter.state ?? null, filter.name ?? null, filter.limit ?? 100],
        )
      ).rows;
      return rows.map(sagaFromRow);
    },

    async requestCancel(id, now) {
      await pool.query(
        `UPDATE ${T.sagas} SET cancel_requested = 1, updated_at = $1 WHERE id = $2 AND ${ACTIVE}`,
        [now, id],
      );
      return this.get(id);
    },

    async operatorChange(c) {
      const p = new Params();
      const now = p.add(c.now, 'bigint');
      const sql = `WITH g AS (UPDATE ${T.sagas} SET state = ${p.add(c.to, 'text')}, updated_at = ${now},
          version = version + 1, finished_at = CASE WHEN ${p.add(c.finished, 'boolean')} THEN ${now} ELSE NULL END,
          lease_owner = NULL, lease_expires_at = NULL
        WHERE id = ${p.add(c.sagaId, 'text')} AND state = ${p.add(c.from, 'text')} RETURNING id)${inserts(
          p,
          'g',
          c.history,
          c.events,
        )} SELECT id FROM g`;
      return (await run(sql, p.values, c.events)).length > 0;
    },

    async close() {
      if (owned) await pool.end();
    },
  };
}
