import type pg from 'pg';

/**
 * Runs `fn` in one PostgreSQL transaction on a pooled client: `BEGIN`, then
 * `COMMIT` when it resolves or `ROLLBACK` when it throws (the error is
 * rethrown). The client is always released.
 *
 * @example
 * ```ts
 * await withPgTransaction(pool, async (c) => {
 *   await c.query('UPDATE stock SET available = available - 1 WHERE product_id = $1', ['mug']);
 *   await outbox.add(c, [event]);
 * });
 * ```
 */
export async function withPgTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Whether a PostgreSQL error is a unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
