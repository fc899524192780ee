import { tempPgSchemas } from '@sluice/testing';
import { afterAll } from 'vitest';

/** The local test database (trust auth), overridable for CI. @internal */
export const TEST_PG_URL = process.env.SLUICE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Throw-away schemas for one test file (`tempPgSchemas` of @sluice/testing,
 * all dropped after the file): `url(query)` creates one and returns the URL of
 * a transport on it. Call at the top level of a test file. @internal
 */
export function pgTestSchemas(): { url(query?: string): Promise<string> } {
  const schemas = tempPgSchemas({ connectionString: TEST_PG_URL, max: 2 });
  afterAll(() => schemas.dispose());
  return {
    async url(query = '') {
      const schema = await schemas.create('messaging');
      return `${TEST_PG_URL}?schema=${schema}${query.length > 0 ? `&${query}` : ''}`;
    },
  };
}
