import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The package under its exact pinned version; anything else and the expected counts below are wrong. */
export const COMPAT_SUITE_VERSION = '1.2.1';

/** One category of the suite's results table (`TESTS` in its `dist/testRunner.js`). */
export interface CompatCategory {
  /** Name of the jest test, or of the `describe` holding its tests, e.g. `@key single`. */
  readonly assertion: string;
  /** Whether the suite calls the category required for federation support. */
  readonly required: boolean;
}

/** Where the installed `@apollo/federation-subgraph-compatibility-tests` keeps what the harness runs. */
export interface CompatSuitePackage {
  readonly dir: string;
  readonly version: string;
  /** Its jest config (`federation-jest.config.js`, preset ts-jest). */
  readonly jestConfig: string;
  /** Its compiled jest tests (`dist/tests`), the folder its own `runJest` passes to jest. */
  readonly testsDir: string;
  /** The jest CLI it depends on. */
  readonly jestBin: string;
  /** Its bundled `users` and `inventory` subgraphs (Apollo Server, run with plain node). */
  readonly usersSubgraph: string;
  readonly inventorySubgraph: string;
  /** Its categories, read from the package itself. */
  readonly categories: readonly CompatCategory[];
}

/** Locates the installed suite; throws if its version is not the pinned one. */
export function compatSuitePackage(): CompatSuitePackage {
  const manifest = require.resolve('@apollo/federation-subgraph-compatibility-tests/package.json');
  const dir = path.dirname(manifest);
  const { version } = require(manifest) as { version: string };
  if (version !== COMPAT_SUITE_VERSION) {
    throw new Error(
      `expected @apollo/federation-subgraph-compatibility-tests ${COMPAT_SUITE_VERSION}, found ${version}`,
    );
  }
  const fromSuite = createRequire(manifest);
  // testRunner.js is CommonJS; loading it only defines TESTS and runJest (no side effects).
  const { TESTS } = fromSuite('./dist/testRunner.js') as { TESTS: CompatCategory[] };
  return {
    dir,
    version,
    jestConfig: path.join(dir, 'federation-jest.config.js'),
    testsDir: path.join(dir, 'dist', 'tests'),
    jestBin: fromSuite.resolve('jest/bin/jest'),
    usersSubgraph: path.join(dir, 'dist', 'subgraphs', 'users', 'index.js'),
    inventorySubgraph: path.join(dir, 'dist', 'subgraphs', 'inventory', 'index.js'),
    categories: TESTS.map(({ assertion, required }) => ({ assertion, required })),
  };
}
