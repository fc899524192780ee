import { afterAll, describe, expect, it } from 'vitest';
import { tempPgSchemas } from './pg-schemas.js';

describe('tempPgSchemas', () => {
  const pgs = tempPgSchemas({ max: 2 });
  const other = tempPgSchemas({ max: 1 });
  afterAll(() => other.dispose());

  it('creates separate schemas and drops them all on dispose', async () => {
    const a = await pgs.create('testing_test');
    const b = await pgs.create('testing_test');
    expect(a).not.toBe(b);
    await pgs.pool.query(`CREATE TABLE ${a}.t (x int)`);
    await pgs.dispose();
    const { rows } = await other.pool.query(
      'SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = ANY($1)',
      [[a, b]],
    );
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('refuses a prefix that is not an identifier', async () => {
    await expect(other.create('x; drop')).rejects.toThrow(/identifier/);
  });
});
