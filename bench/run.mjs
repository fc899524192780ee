#!/usr/bin/env node
/**
 * `npm run bench [name…]`: runs every `bench/*.bench.ts` (or the named ones),
 * each in its own Node process with `--expose-gc`, against the TypeScript
 * sources of the packages. Each suite rewrites its own section of
 * bench/RESULTS.md (see bench/lib/results.ts).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const suites = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace('.bench.ts', '')))
  .sort();
if (suites.length === 0) {
  console.error(wanted.length ? `No bench suite named ${wanted.join(', ')}` : 'No bench suites yet');
  process.exit(1);
}
let failed = 0;
for (const suite of suites) {
  console.log(`\n## ${suite}`);
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--conditions=sluice-source', '--import', 'tsx', path.join(here, suite)],
    { stdio: 'inherit', cwd: path.join(here, '..') },
  );
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
