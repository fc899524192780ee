import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The local test database (trust auth), overridable for CI. @internal */
export const TEST_PG_URL = process.env.SLUICE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A schema name unique to one test (`messaging_<random>`), the URL of a
 * transport on it, and its removal (`DROP SCHEMA … CASCADE`) once every
 * transport on it is closed. @internal
 */
export function tempPgSchema(query = ''): { schema: string; url: string; drop(): Promise<void> } {
  const schema = `messaging_${randomBytes(6).toString('hex')}`;
  const sep = query.length > 0 ? '&' : '';
  return {
    schema,
    url: `${TEST_PG_URL}?schema=${schema}${sep}${query}`,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
