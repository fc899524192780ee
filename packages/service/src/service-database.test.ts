import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isSluiceError } from '@sluice/errors';
import { tempPgSchemas } from '@sluice/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { openServiceDatabase } from './service-database.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-db-'));
fs.mkdirSync(path.join(dir, 'migrations/sqlite'), { recursive: true });
fs.mkdirSync(path.join(dir, 'migrations/postgres'), { recursive: true });
fs.writeFileSync(path.join(dir, 'migrations/sqlite/001_t.sql'), 'CREATE TABLE t (x INTEGER);');
fs.writeFileSync(path.join(dir, 'migrations/postgres/001_t.sql'), 'CREATE TABLE t (x INTEGER);');
const pgs = tempPgSchemas({ max: 2 });
afterAll(() => pgs.dispose());

describe('openServiceDatabase', () => {
  it('opens a SQLite file (creating its folder) in WAL mode, migrated', async () => {
    const file = path.join(dir, 'data/nested/svc.db');
    const d = await openServiceDatabase({
      url: `sqlite:${file}`,
      service: 'svc',
      migrationsDir: path.join(dir, 'migrations'),
    });
    if (d.kind !== 'sqlite') throw new Error('expected sqlite');
    expect(d.db.pragma('journal_mode', { simple: true })).toBe('wal');
    d.db.prepare('INSERT INTO t VALUES (1)').run();
    await d.close();
    expect(fs.existsSync(file)).toBe(true);
  });

  it('opens the service schema of a PostgreSQL database, migrated', async () => {
    const schema = await pgs.create('svc_db_test');
    const d = await openServiceDatabase({
      url: `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`,
      service: 'svc',
      migrationsDir: path.join(dir, 'migrations'),
    });
    if (d.kind !== 'postgres') throw new Error('expected postgres');
    expect(d.schema).toBe(schema);
    await d.pool.query(`INSERT INTO ${schema}.t VALUES (1)`);
    await d.close();
  });

  it('refuses an unknown URL with a clear error', async () => {
    const err = await openServiceDatabase({ url: 'mysql://x', service: 's', migrationsDir: dir }).catch(
      (e: unknown) => e,
    );
    expect(isSluiceError(err) && err.reason).toBe('SERVICE_INVALID_CONFIG');
  });
});
