import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of sibling packages, never a stale dist/.
    alias: [
      { find: /^@sluice\/([a-z-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      // graphql ships ESM and CJS builds; Node's `import` loads the CJS one (its package has no exports map), and so
      // do the CJS Apollo libraries. Vite would pick the ESM build: two copies of graphql ("another module or realm").
      { find: /^graphql$/, replacement: require.resolve('graphql') },
    ],
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'services/*/src/**/*.test.ts',
      'services/*/test/**/*.test.ts',
      'test/**/*.test.ts',
      'scripts/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
