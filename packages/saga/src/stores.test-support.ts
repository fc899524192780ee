import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { SagaEventSink } from './event-sink.js';
import { createPostgresSagaStore } from './postgres-saga-store.js';
import type { SagaStore } from './saga-store.js';
import { createSqliteSagaStore } from './sqlite-saga-store.js';

/** The PostgreSQL the tests use (a unique schema per test run, dropped after). */
export const PG_URL = process.env.SLUICE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A store under test, and how to open more stores on the same database (another "process"). */
export interface StoreFixture {
  readonly kind: 'sqlite' | 'postgres';
  readonly store: SagaStore;
  /** Opens another store on the same database. */
  open(events?: SagaEventSink): Promise<SagaStore>;
  /** Runs SQL on the database (`?` placeholders on SQLite, `$n` on PostgreSQL). */
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Environment for a child process: `SAGA_STORE`, `SAGA_DB`, `SAGA_SCHEMA`. */
  readonly childEnv: Record<string, string>;
  /** Closes every store and drops the schema / deletes the file. */
  dispose(): Promise<void>;
}

/** A fresh, migrated store: a temporary SQLite file, or a unique PostgreSQL schema. */
export async function openFixture(
  kind: 'sqlite' | 'postgres',
  events?: SagaEventSink,
): Promise<StoreFixture> {
  const suffix = randomBytes(5).toString('hex');
  const opened: SagaStore[] = [];
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-saga-'));
    const file = path.join(dir, 'saga.db');
    const open = async (sink?: SagaEventSink) => {
      const s = createSqliteSagaStore({ path: file, ...(sink ? { events: sink } : {}) });
      await s.migrate();
      opened.push(s);
      return s;
    };
    const store = await open(events);
    const Database = (await import('better-sqlite3')).default;
    const raw = new Database(file);
    raw.pragma('busy_timeout = 5000');
    return {
      kind,
      store,
      open,
      async query(sql, params = []) {
        const stmt = raw.prepare(sql);
        if (stmt.reader) return stmt.all(...params) as Record<string, unknown>[];
        stmt.run(...params);
        return [];
      },
      childEnv: { SAGA_STORE: 'sqlite', SAGA_DB: file },
      async dispose() {
        for (const s of opened) await s.close();
        raw.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `saga_test_${suffix}`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  const pools: pg.Pool[] = [];
  const open = async (sink?: SagaEventSink) => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 5 });
    pools.push(pool);
    const s = createPostgresSagaStore({ pool, schema, ...(sink ? { events: sink } : {}) });
    await s.migrate();
    opened.push(s);
    return s;
  };
  const store = await open(events);
  return {
    kind,
    store,
    open,
    async query(sql, params = []) {
      const client = await admin.connect();
      try {
        await client.query(`SET search_path TO "${schema}"`);
        return (await client.query(sql, params)).rows;
      } finally {
        client.release();
      }
    },
    childEnv: { SAGA_STORE: 'postgres', SAGA_DB: PG_URL, SAGA_SCHEMA: schema },
    async dispose() {
      for (const s of opened) await s.close();
      for (const p of pools) await p.end();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

/** Both stores, for `describe.each`. */
export const STORE_KINDS = ['sqlite', 'postgres'] as const;
