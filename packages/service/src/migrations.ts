import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type pg from 'pg';

/** One numbered SQL migration. */
export interface Migration {
  /** From the file name's leading number: `003_add_index.sql` → 3. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Reads `NNN_name.sql` files of a folder, in version order. Two files with
 * one number, or a file that does not follow the pattern, is an error: a
 * migration set must be unambiguous.
 */
export function loadMigrations(dir: string): Migration[] {
  const out: Migration[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = /^(\d+)_([a-z0-9_-]+)\.sql$/i.exec(file);
    if (!m) throw new Error(`migration file ${file} in ${dir} is not named NNN_name.sql`);
    const version = Number(m[1]);
    if (out.some((x) => x.version === version))
      throw new Error(`two migrations numbered ${version} in ${dir}`);
    out.push({ version, name: m[2] as string, sql: fs.readFileSync(path.join(dir, file), 'utf8') });
  }
  return out.sort((a, b) => a.version - b.version);
}

/**
 * Applies the migrations a SQLite database has not seen, each in its own
 * transaction (`BEGIN IMMEDIATE`, so two processes starting together apply
 * each one once). Returns the versions applied.
 */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[]): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
  );
  const seen = db.prepare<[number], { version: number }>(
    'SELECT version FROM schema_migrations WHERE version = ?',
  );
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const m of migrations) {
    const apply = db.transaction(() => {
      if (seen.get(m.version)) return;
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    });
    apply.immediate();
  }
  return applied;
}

/**
 * Throws unless `schema` is a plain lower-case SQL identifier (≤ 63 bytes), so
 * it can be spliced into SQL text (`${schema}.orders`) safely.
 */
export function assertSchemaName(schema: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
}

/**
 * Applies the migrations a PostgreSQL schema has not seen. Creates the schema
 * if needed and runs everything under a transaction-scoped advisory lock on
 * the schema name, so concurrent starters apply each migration once. The
 * migrations run with `search_path` set to the schema, so they name tables
 * unqualified. Returns the versions applied.
 */
export async function migratePostgres(
  pool: pg.Pool,
  schema: string,
  migrations: readonly Migration[],
): Promise<number[]> {
  assertSchemaName(schema);
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sluice-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET LOCAL search_path TO ${schema}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const seen = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (seen.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
