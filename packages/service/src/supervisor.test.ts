import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor } from './supervisor.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-sup-'));
// A child that counts its starts in a file, then either crashes at once or runs until told to stop.
const script = path.join(dir, 'child.cjs');
fs.writeFileSync(
  script,
  `const fs = require('fs');
   const f = process.argv[2];
   process.on('SIGTERM', () => { fs.writeFileSync(f + '.term', 'yes'); process.exit(0); });
   const n = (fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0) + 1;
   fs.writeFileSync(f, String(n));
   if (n < Number(process.argv[3])) process.exit(3);
   setInterval(() => {}, 1000);`,
);

async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Supervisor', () => {
  let sup: Supervisor | undefined;
  afterEach(async () => {
    await sup?.stop();
  });

  it('restarts a crashing process with growing delays until it stays up', async () => {
    const counter = path.join(dir, 'a');
    const delays: number[] = [];
    sup = createSupervisor({
      processes: [{ name: 'a', args: [script, counter, '4'] }],
      restartBaseMs: 10,
      output: 'ignore',
    });
    sup.on('restart', (_n: string, _a: number, delay: number) => delays.push(delay));
    sup.start();
    await until(
      () =>
        sup?.status()[0]?.state === 'running' &&
        fs.existsSync(counter) &&
        fs.readFileSync(counter, 'utf8') === '4',
    );
    expect(delays).toEqual([10, 20, 40]);
    expect(sup.status()[0]?.restarts).toBe(3);
  });

  it('stops every process with SIGTERM and does not restart them', async () => {
    const a = path.join(dir, 'b1');
    const b = path.join(dir, 'b2');
    sup = createSupervisor({
      processes: [
        { name: 'b1', args: [script, a, '1'] },
        { name: 'b2', args: [script, b, '1'] },
      ],
      output: 'ignore',
    });
    sup.start();
    await until(() => sup?.status().every((s) => s.state === 'running') ?? false);
    // Each child installs its SIGTERM handler before it writes its counter.
    await until(() => fs.existsSync(a) && fs.existsSync(b));
    await sup.stop();
    expect(sup.status().map((s) => s.state)).toEqual(['stopped', 'stopped']);
    expect(fs.existsSync(`${a}.term`) && fs.existsSync(`${b}.term`)).toBe(true);
    expect(sup.status().every((s) => s.restarts === 0)).toBe(true);
  });

  it('refuses two processes with one name', () => {
    expect(() =>
      createSupervisor({
        processes: [
          { name: 'x', args: [] },
          { name: 'x', args: [] },
        ],
      }),
    ).toThrow(/two processes/);
  });
});
