import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';

// Runs every ```ts block of the package README as written: each block is
// written to a module of its own and imported; its console.log lines are
// compared with the comments that follow them in the README.

const readme = fs.readFileSync(
  path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md'),
  'utf8',
);
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-resilience-readme-'));

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The values a block's `console.log(…); // a b` lines promise, in order. */
function promised(code: string): string[] {
  return [...code.matchAll(/console\.log\([^\n]*\);\s*\/\/ (.*)\n/g)].map((m) => (m[1] as string).trim());
}

/** How a logged line reads when compared with its comment (strings quoted, arrays as `[ a, b ]`). */
function render(args: unknown[]): string {
  const one = (v: unknown): string =>
    typeof v === 'string'
      ? `'${v}'`
      : Array.isArray(v)
        ? v.length === 0
          ? '[]'
          : `[ ${v.map(one).join(', ')} ]`
        : String(v);
  return args.map(one).join(' ');
}

describe('README', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(12);
  });

  blocks.forEach((code, i) => {
    const title = code.split('\n').find((l) => l.includes('@sluice/resilience')) ?? `block ${i}`;
    it(`runs example ${i + 1} and prints what it says (${title.slice(0, 60)})`, async () => {
      const file = path.join(dir, `example-${i}.ts`);
      fs.writeFileSync(file, code);
      const lines: string[] = [];
      const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
        lines.push(render(args));
      });
      try {
        await import(file);
      } finally {
        spy.mockRestore();
      }
      // Every promised line appears, in order (lines without a comment, such as event logs, may sit between).
      let at = 0;
      for (const comment of promised(code)) {
        const values = comment.replace(/ \(.*\)$/, ''); // a comment may end with prose in parentheses
        while (at < lines.length && lines[at] !== values) at++;
        expect(lines.slice(at), `missing: ${values}\nlogged: ${lines.join(' | ')}`).not.toEqual([]);
        at++;
      }
    });
  });
});
