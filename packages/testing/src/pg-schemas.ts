import pg from 'pg';

/** Options of {@link tempPgSchemas}. */
export interface TempPgSchemasOptions {
  /** Default `postgres://postgres@127.0.0.1:5432/test` or `$SLUICE_TEST_POSTGRES` when the test sets it. */
  readonly connectionString?: string;
  /** Pool size. Default 8. */
  readonly max?: number;
}

/** Throw-away PostgreSQL schemas for tests, and the pool that reaches them. */
export interface TempPgSchemas {
  readonly pool: pg.Pool;
  /** Creates an empty schema named `<prefix>_<pid>_<n>_<random>` and returns its name. */
  create(prefix: string): Promise<string>;
  /** Drops every schema this helper created and ends the pool. Call it in `afterAll`. */
  dispose(): Promise<void>;
}

/**
 * Gives each test its own PostgreSQL schema, so test files (and parallel
 * runs) never see each other's rows, and drops them all at the end.
 *
 * @example
 * ```ts
 * const pgs = tempPgSchemas();
 * afterAll(() => pgs.dispose());
 * it('stores an order', async () => {
 *   const schema = await pgs.create('order_test');
 *   await pgs.pool.query(`CREATE TABLE ${schema}.t (x int)`);
 * });
 * ```
 */
export function tempPgSchemas(options: TempPgSchemasOptions = {}): TempPgSchemas {
  const pool = new pg.Pool({
    connectionString: options.connectionString ?? 'postgres://postgres@127.0.0.1:5432/test',
    max: options.max ?? 8,
  });
  const created: string[] = [];
  return {
    pool,
    async create(prefix) {
      if (!/^[a-z_][a-z0-9_]{0,30}$/.test(prefix))
        throw new Error(`schema prefix must be a short identifier: ${prefix}`);
      const name = `${prefix}_${process.pid}_${created.length}_${Math.random().toString(36).slice(2, 8)}`;
      await pool.query(`CREATE SCHEMA ${name}`);
      created.push(name);
      return name;
    },
    async dispose() {
      for (const s of created.splice(0)) await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await pool.end();
    },
  };
}
