import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freshPrefix, RABBIT_URL } from './rabbitmq.test-support.js';
import { createRabbitMqTransport } from './rabbitmq-transport.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, '..', '..');
const repoRoot = path.resolve(packageDir, '..', '..');

/** The first ```ts block of the README's RabbitMQ section. */
function rabbitExample(): string {
  const readme = fs.readFileSync(path.join(packageDir, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### RabbitMQ'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('no ts example in the RabbitMQ section of the README');
  return m[1] as string;
}

const prefix = freshPrefix();
const file = path.join(here, `.readme-example-${prefix}.ts`);
afterEach(async () => {
  fs.rmSync(file, { force: true });
  const admin = await createRabbitMqTransport({ url: RABBIT_URL, prefix });
  await admin.deleteTopology();
});

describe('README (RabbitMQ section)', () => {
  it('runs the example in its own process and prints what it says', () => {
    fs.writeFileSync(file, rabbitExample());
    const r = spawnSync(process.execPath, ['--conditions=sluice-source', '--import', 'tsx', file], {
      cwd: repoRoot,
      env: { ...process.env, RABBITMQ_URL: `${RABBIT_URL}?prefix=${prefix}` },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('evt-1#1 evt-1#2 evt-2#1');
  });
});
