#!/usr/bin/env node
// The `sluice` command: runs the built CLI when there is one, else its TypeScript sources through tsx.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let mod;
if (fs.existsSync(built)) {
  mod = await import(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(new URL('../src/main.ts', import.meta.url).href);
}
process.exitCode = await mod.main(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  progress: process.stderr,
});
