import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompatSuitePackage, compatSuitePackage } from './compat-suite-package.js';
import { describeFailures, runCompatSuite } from './compat-suite-run.js';
import { type CompatSupergraph, startCompatSupergraph } from './compat-supergraph.js';

/** Number of jest tests in @apollo/federation-subgraph-compatibility-tests 1.2.1 (12 files). */
const SUITE_TESTS = 23;

async function graphqlPost(url: string, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(10_000),
  });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

describe("Apollo's subgraph compatibility suite against the fixture products subgraph", () => {
  let suite: CompatSuitePackage;
  let supergraph: CompatSupergraph;

  beforeAll(async () => {
    suite = compatSuitePackage();
    supergraph = await startCompatSupergraph({ suite });
  }, 150_000);

  afterAll(async () => {
    await supergraph?.stop();
  }, 30_000);

  it(`passes all ${SUITE_TESTS} of the suite's jest tests, in every category`, async () => {
    const result = await runCompatSuite({ suite, productsUrl: supergraph.productsUrl });
    const failures = describeFailures(result);
    if (failures) console.error(`federation compatibility failures:\n${failures}`);
    const perCategory = suite.categories.map(({ assertion, required }) => {
      const tests = result.assertions.filter((a) => a.category === assertion);
      const ok = tests.length > 0 && tests.every((a) => a.status === 'passed');
      return `${ok ? '✓' : '✗'} ${assertion}${required ? ' (required)' : ''}: ${tests.length} test(s)`;
    });
    console.log(
      `federation compatibility (suite ${suite.version}): ${result.passed}/${result.total} passed\n${perCategory.join('\n')}`,
    );

    expect(failures, failures).toBe('');
    expect(result.runtimeErrorSuites, result.stderr).toBe(0);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.total).toBe(SUITE_TESTS);
    expect(result.passed).toBe(SUITE_TESTS);
    // Every category of the suite's results table ran and passed: none silently missing.
    expect(perCategory.filter((line) => line.startsWith('✗'))).toEqual([]);
    expect(suite.categories).toHaveLength(15);
  }, 150_000);

  it('reports a failure when the subgraph under test breaks the spec (the harness can fail)', async () => {
    // The suite's users subgraph is a valid subgraph but not the products one: @tag and @provides must fail.
    const result = await runCompatSuite({
      suite,
      productsUrl: supergraph.usersUrl,
      only: ['tag.test.js', 'provides.test.js'],
    });
    expect(result.total).toBe(2);
    expect(result.failed).toBe(2);
    expect(result.exitCode).not.toBe(0);
    expect(describeFailures(result)).toContain('[@tag]');
  }, 150_000);

  it('resolves Product references under its three @keys with one DataLoader batch', async () => {
    const before = supergraph.catalog.productBatches.length;
    const body = await graphqlPost(
      supergraph.productsUrl,
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id sku research { study { description } } } } }',
      {
        r: [
          { __typename: 'Product', id: 'apollo-federation' },
          { __typename: 'Product', sku: 'federation', package: '@apollo/federation' },
          { __typename: 'Product', sku: 'studio', variation: { id: 'platform' } },
          { __typename: 'Product', id: 'no-such-product' },
        ],
      },
    );
    expect(body.errors).toBeUndefined();
    const federation = {
      id: 'apollo-federation',
      sku: 'federation',
      research: [{ study: { description: 'Federation Study' } }],
    };
    expect(body.data?._entities).toEqual([
      federation,
      federation,
      { id: 'apollo-studio', sku: 'studio', research: [{ study: { description: 'Studio Study' } }] },
      null,
    ]);
    expect(supergraph.catalog.productBatches.slice(before)).toHaveLength(1);
  });

  it('answers a @requires query through the gateway that stands in for the router', async () => {
    const body = await graphqlPost(
      supergraph.routerUrl,
      '{ product(id: "apollo-federation") { delivery(zip: "94111") { estimatedDelivery } createdBy { averageProductsCreatedPerYear } } }',
    );
    expect(body.errors).toBeUndefined();
    // 1337 products (provided by products) over 10 years (from users): the inputs crossed two subgraphs.
    expect(body.data).toEqual({
      product: {
        delivery: { estimatedDelivery: '5/1/2019' },
        createdBy: { averageProductsCreatedPerYear: 134 },
      },
    });
  });
});
