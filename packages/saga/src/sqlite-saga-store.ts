import Database from 'better-sqlite3';
import {
  outboxTableSink,
  SAGA_OUTBOX_TABLE,
  type SagaEventSink,
  type SagaTransaction,
} from './event-sink.js';
import type { HistoryEntry } from './saga-record.js';
import type { ClaimedSaga, CommitResult, OperatorChange, SagaStore, Transition } from './saga-store.js';
import { historyFromRow, historyValues, sagaFromRow, stepFromRow, stepValues } from './store-rows.js';

/** Options of {@link createSqliteSagaStore}. */
export interface SqliteSagaStoreOptions {
  /** Database file (`:memory:` for a private in-memory database). Ignored when `db` is given. */
  readonly path?: string;
  /** An open better-sqlite3 database to use (not closed by `close()`). */
  readonly db?: Database.Database;
  /** Where lifecycle events go, inside each transition's transaction. Default {@link outboxTableSink}. */
  readonly events?: SagaEventSink;
  /** How long a write waits for another process's lock, in ms. Default 5 000. */
  readonly busyTimeoutMs?: number;
}

const DDL = `
CREATE TABLE IF NOT EXISTS sluice_sagas (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  input TEXT NOT NULL,
  step_index INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  deadline_at INTEGER,
  correlation_id TEXT NOT NULL,
  causation_id TEXT,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  version INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sluice_sagas_state ON sluice_sagas (state, created_at);
CREATE TABLE IF NOT EXISTS sluice_saga_steps (
  saga_id TEXT NOT NULL,
  step TEXT NOT NULL,
  idx INTEGER NOT NULL,
  status TEXT NOT NULL,
  output TEXT,
  attempts INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER NOT NULL,
  error TEXT,
  compensation_attempts INTEGER NOT NULL DEFAULT 0,
  compensated_at INTEGER,
  PRIMARY KEY (saga_id, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sluice_saga_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  saga_id TEXT NOT NULL,
  step TEXT,
  phase TEXT NOT NULL,
  event TEXT NOT NULL,
  attempt INTEGER,
  at INTEGER NOT NULL,
  duration_ms REAL,
  error TEXT,
  owner TEXT,
  note TEXT
);
CREATE INDEX IF NOT EXISTS sluice_saga_history_saga ON sluice_saga_history (saga_id, seq);
CREATE TABLE IF NOT EXISTS ${SAGA_OUTBOX_TABLE} (
  id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  key TEXT,
  envelope TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  sent_at INTEGER
);
CREATE INDEX IF NOT EXISTS ${SAGA_OUTBOX_TABLE}_unsent ON ${SAGA_OUTBOX_TABLE} (created_at) WHERE sent_at IS NULL;
`;

const ACTIVE = `state IN ('running', 'compensating')`;

/**
 * The saga log in a SQLite file (WAL, `synchronous = NORMAL`): several
 * orchestrator processes on one machine may share it. A transition survives
 * a process crash once `commit()` resolves; with `NORMAL` the last commits
 * may be lost on power loss (set `PRAGMA synchronous = FULL` on `db` for that).
 *
 * @example
 * ```ts
 * const store = createSqliteSagaStore({ path: 'data/orchestrator.db' });
 * await store.migrate();
 * ```
 */
export function createSqliteSagaStore(options: SqliteSagaStoreOptions = {}): SagaStore {
  const owned = options.db === undefined;
  const db = options.db ?? new Database(options.path ?? ':memory:');
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5_000}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const sink = options.events ?? outboxTableSink();
  const tx: SagaTransaction = { dialect: 'sqlite', db };
  let prepared: ReturnType<typeof prepare> | undefined;

  const prepare = () => ({
    insert: db.prepare(
      `INSERT INTO sluice_sagas (id, name, state, input, correlation_id, causation_id, deadline_at, lease_owner,
         lease_expires_at, version, created_at, updated_at)
       VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING *`,
    ),
    get: db.prepare('SELECT * FROM sluice_sagas WHERE id = ?'),
    claim: db.prepare(
      `UPDATE sluice_sagas SET lease_owner = ?, lease_expires_at = ?, version = version + 1
       WHERE id IN (SELECT id FROM sluice_sagas WHERE ${ACTIVE}
                    AND (lease_owner IS NULL OR lease_expires_at < ?)
                    AND name IN (SELECT value FROM json_each(?)) ORDER BY created_at LIMIT ?)
       RETURNING *`,
    ),
    renew: db.prepare(
      `UPDATE sluice_sagas SET lease_expires_at = ?
       WHERE lease_owner = ? AND ${ACTIVE} AND id IN (SELECT value FROM json_each(?))`,
    ),
    fence: db.prepare(
      `UPDATE sluice_sagas SET state = ?, step_index = ?, error = ?, updated_at = ?, version = version + 1,
         finished_at = CASE WHEN ? THEN ? ELSE NULL END,
         lease_owner = CASE WHEN ? THEN NULL ELSE lease_owner END,
         lease_expires_at = CASE WHEN ? THEN NULL ELSE lease_expires_at END
       WHERE id = ? AND version = ? AND lease_owner = ? RETURNING cancel_requested`,
    ),
    step: db.prepare(
      `INSERT INTO sluice_saga_steps (saga_id, step, idx, status, output, attempts, started_at, ended_at, error,
         compensation_attempts, compensated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (saga_id, step) DO UPDATE SET status = excluded.status, output = excluded.output,
         attempts = excluded.attempts, started_at = excluded.started_at, ended_at = excluded.ended_at,
         error = excluded.error, compensation_attempts = excluded.compensation_attempts,
         compensated_at = excluded.compensated_at`,
    ),
    history: db.prepare(
      `INSERT INTO sluice_saga_history (saga_id, step, phase, event, attempt, at, duration_ms, error, owner, note)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    steps: db.prepare('SELECT * FROM sluice_saga_steps WHERE saga_id = ? ORDER BY idx'),
    historyOf: db.prepare('SELECT * FROM sluice_saga_history WHERE saga_id = ? ORDER BY seq'),
    releaseAll: db.prepare(
      'UPDATE sluice_sagas SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?',
    ),
    releaseOne: db.prepare(
      'UPDATE sluice_sagas SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ? AND id = ?',
    ),
    cancel: db.prepare(
      `UPDATE sluice_sagas SET cancel_requested = 1, updated_at = ? WHERE id = ? AND ${ACTIVE}`,
    ),
    operator: db.prepare(
      `UPDATE sluice_sagas SET state = ?, updated_at = ?, version = version + 1,
         finished_at = CASE WHEN ? THEN ? ELSE NULL END, lease_owner = NULL, lease_expires_at = NULL
       WHERE id = ? AND state = ?`,
    ),
  });

  const sql = () => {
    if (prepared === undefined) throw new Error('saga store: call migrate() first');
    return prepared;
  };

  const append = (events: Parameters<SagaEventSink['append']>[1]) => {
    if (events.length === 0) return;
    const r = sink.append(tx, events);
    if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
      throw new TypeError('a SagaEventSink used with SQLite must append synchronously');
    }
  };

  const writeHistory = (entries: readonly HistoryEntry[]) => {
    for (const h of entries) sql().history.run(...historyValues(h));
  };

  const createTx = db.transaction((saga: Parameters<SagaStore['create']>[0], events) => {
    const s = sql();
    const inserted = s.insert.get(
      saga.id,
      saga.name,
      JSON.stringify(saga.input ?? null),
      saga.correlationId,
      saga.causationId ?? null,
      saga.deadlineAt ?? null,
      saga.leaseOwner ?? null,
      saga.leaseExpiresAt ?? null,
      saga.now,
      saga.now,
    );
    if (inserted !== undefined) {
      append(events);
    }
    if (inserted !== undefined)
      return { created: true, record: sagaFromRow(inserted as Record<string, unknown>) };
    return { created: false, record: sagaFromRow(s.get.get(saga.id) as Record<string, unknown>) };
  });

  const claimTx = db.transaction(
    (owner: string, now: number, until: number, limit: number, names: string) => {
      const s = sql();
      const rows = s.claim.all(owner, until, now, names, limit) as Record<string, unknown>[];
      return rows.map(
        (row): ClaimedSaga => ({
          record: sagaFromRow(row),
          steps: (s.steps.all(row.id) as Record<string, unknown>[]).map(stepFromRow),
        }),
      );
    },
  );

  const commitTx = db.transaction((t: Transition): CommitResult => {
    const s = sql();
    const fin = t.finished ? 1 : 0;
    const row = s.fence.get(
      t.state,
      t.stepIndex,
      t.error === undefined ? null : JSON.stringify(t.error),
      t.now,
      fin,
      t.now,
      fin,
      fin,
      t.sagaId,
      t.version,
      t.owner,
    ) as { cancel_requested: number } | undefined;
    if (row === undefined) return { ok: false };
    if (t.step !== undefined) s.step.run(...stepValues(t.sagaId, t.step));
    writeHistory(t.history);
    append(t.events);
    return { ok: true, cancelRequested: row.cancel_requested === 1 };
  });

  const operatorTx = db.transaction((c: OperatorChange): boolean => {
    const fin = c.finished ? 1 : 0;
    const changed = sql().operator.run(c.to, c.now, fin, c.now, c.sagaId, c.from).changes === 1;
    if (!changed) return false;
    writeHistory(c.history);
    append(c.events);
    return true;
  });

  return {
    dialect: 'sqlite',
    async migrate() {
      db.exec(DDL);
      prepared ??= prepare();
    },
    async create(saga, events) {
      return createTx.immediate(saga, events);
    },
    async claim(owner, now, until, limit, names) {
      return claimTx.immediate(owner, now, until, limit, JSON.stringify(names));
    },
    async renew(owner, until, ids) {
      if (ids.length === 0) return 0;
      return sql().renew.run(until, owner, JSON.stringify(ids)).changes;
    },
    async commit(t) {
      return commitTx.immediate(t);
    },
    async release(owner, ids) {
      if (ids === undefined) sql().releaseAll.run(owner);
      else for (const id of ids) sql().releaseOne.run(owner, id);
    },
    async appendHistory(entries) {
      db.transaction(writeHistory).immediate(entries);
    },
    async get(id) {
      const row = sql().get.get(id) as Record<string, unknown> | undefined;
      return row === undefined ? undefined : sagaFromRow(row);
    },
    async steps(id) {
      return (sql().steps.all(id) as Record<string, unknown>[]).map(stepFromRow);
    },
    async history(id) {
      return (sql().historyOf.all(id) as Record<string, unknown>[]).map(historyFromRow);
    },
    async list(filter) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.state !== undefined) {
        where.push('state = ?');
        params.push(filter.state);
      }
      if (filter.name !== undefined) {
        where.push('name = ?');
        params.push(filter.name);
      }
      params.push(filter.limit ?? 100);
      const rows = db
        .prepare(
          `SELECT * FROM sluice_sagas ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY created_at DESC, id LIMIT ?`,
        )
        .all(...params) as Record<string, unknown>[];
      return rows.map(sagaFromRow);
    },
    async requestCancel(id, now) {
      sql().cancel.run(now, id);
      const row = sql().get.get(id) as Record<string, unknown> | undefined;
      return row === undefined ? undefined : sagaFromRow(row);
    },
    async operatorChange(change) {
      return operatorTx.immediate(change);
    },
    async close() {
      if (owned && db.open) db.close();
    },
  };
}
