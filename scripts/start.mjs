#!/usr/bin/env node
// `npm start`: runs scripts/start-shop.ts (TypeScript, through tsx) in this process's stead.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = spawn(
  process.execPath,
  [
    '--conditions=sluice-source',
    '--import',
    'tsx',
    path.join(here, 'start-shop.ts'),
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
// Ctrl-C reaches the whole process group; the child stops the services and exits.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
