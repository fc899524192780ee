import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '@sluice/errors';
import Database from 'better-sqlite3';
import pg from 'pg';
import { loadMigrations, migratePostgres, migrateSqlite } from './migrations.js';
import { ServiceReasons } from './reasons.js';

/** A service's own database: a SQLite file (the default) or a schema of a shared PostgreSQL. */
export type ServiceDatabase =
  | { readonly kind: 'sqlite'; readonly db: Database.Database; close(): Promise<void> }
  | { readonly kind: 'postgres'; readonly pool: pg.Pool; readonly schema: string; close(): Promise<void> };

/** Options of {@link openServiceDatabase}. */
export interface ServiceDatabaseOptions {
  /**
   * `sqlite:<file>` (created with its folder), `sqlite::memory:`, or
   * `postgres://…` (the service's schema is `service`, or `?schema=`).
   */
  readonly url: string;
  /** The service's name, its PostgreSQL schema by default. */
  readonly service: string;
  /** Folder holding `sqlite/` and `postgres/` migration folders. */
  readonly migrationsDir: string;
  /** PostgreSQL pool size. Default 10. */
  readonly poolSize?: number;
}

/**
 * Opens a service's database and brings its schema up to date. SQLite runs in
 * WAL mode with `synchronous=NORMAL` (a process crash loses nothing committed;
 * a power loss can lose the last commits) and a 5 s busy timeout.
 */
export async function openServiceDatabase(options: ServiceDatabaseOptions): Promise<ServiceDatabase> {
  const { url, service } = options;
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file === '') throw invalidUrl(url);
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrateSqlite(db, loadMigrations(path.join(options.migrationsDir, 'sqlite')));
    return { kind: 'sqlite', db, close: async () => void db.close() };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema') ?? service.replace(/-/g, '_');
    parsed.searchParams.delete('schema');
    const pool = new pg.Pool({ connectionString: parsed.toString(), max: options.poolSize ?? 10 });
    // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    await migratePostgres(pool, schema, loadMigrations(path.join(options.migrationsDir, 'postgres')));
    return { kind: 'postgres', pool, schema, close: () => pool.end() };
  }
  throw invalidUrl(url);
}

function invalidUrl(url: string): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: ServiceReasons.INVALID_CONFIG,
    message: `SLUICE_DB must be sqlite:<file> or postgres://…, got ${JSON.stringify(url.replace(/\/\/[^@]*@/, '//…@'))}`,
    details: { violations: [{ field: 'SLUICE_DB', message: 'must be sqlite:<file> or postgres://…' }] },
  });
}
