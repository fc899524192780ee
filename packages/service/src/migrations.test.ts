import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations, migratePostgres, migrateSqlite } from './migrations.js';

function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-mig-'));
  for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

describe('loadMigrations', () => {
  it('orders files by number and refuses ambiguous sets', () => {
    const dir = folder({ '002_b.sql': 'select 2;', '001_a.sql': 'select 1;', 'README.md': 'x' });
    expect(loadMigrations(dir).map((m) => m.version)).toEqual([1, 2]);
    expect(() => loadMigrations(folder({ '001_a.sql': '', '001_b.sql': '' }))).toThrow(/two migrations/);
    expect(() => loadMigrations(folder({ 'first.sql': '' }))).toThrow(/NNN_name/);
  });
});

describe('migrateSqlite', () => {
  it('applies each migration once, and none of a failing one', () => {
    const db = new Database(':memory:');
    const ok = loadMigrations(folder({ '001_t.sql': 'CREATE TABLE t (x INTEGER);' }));
    expect(migrateSqlite(db, ok)).toEqual([1]);
    expect(migrateSqlite(db, ok)).toEqual([]);
    const bad = [...ok, { version: 2, name: 'bad', sql: 'INSERT INTO t VALUES (1); SELECT * FROM nope;' }];
    expect(() => migrateSqlite(db, bad)).toThrow(/nope/);
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: 1 });
  });
});

describe('migratePostgres', () => {
  const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:5432/test', max: 4 });
  const schema = `sluice_service_test_${process.pid}_${Date.now() % 100000}`;
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  it('creates the schema and applies each migration once, even when started concurrently', async () => {
    const migrations = loadMigrations(
      folder({ '001_t.sql': 'CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);' }),
    );
    const results = await Promise.all([1, 2, 3].map(() => migratePostgres(pool, schema, migrations)));
    expect(results.flat()).toEqual([1]);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.t`);
    expect(rows[0]).toEqual({ n: 1 });
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(migratePostgres(pool, 'x; drop table y', [])).rejects.toThrow(/invalid schema/);
  });
});
