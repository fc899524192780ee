import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every `reasons.ts` under packages/*\/src and services/*\/src. */
function reasonFiles(): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name === 'gen') continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) visit(full);
      else if (e.name === 'reasons.ts') out.push(full);
    }
  };
  for (const group of ['packages', 'services']) {
    const base = path.join(root, group);
    if (fs.existsSync(base)) for (const d of fs.readdirSync(base)) visit(path.join(base, d, 'src'));
  }
  return out;
}

/** Reason values declared in code: UPPER_SNAKE string literals of every reasons.ts. */
function reasonsInCode(): Set<string> {
  const found = new Set<string>();
  for (const file of reasonFiles()) {
    const src = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    for (const m of src.matchAll(/['"]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"]/g)) found.add(m[1] as string);
  }
  return found;
}

/** Reasons listed in the first column of docs/errors.md's reasons table. */
function reasonsInDoc(): Set<string> {
  const doc = fs.readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Reasons'));
  return new Set([...section.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string));
}

describe('docs/errors.md', () => {
  it('lists exactly the reasons declared in the code', () => {
    const code = reasonsInCode();
    const doc = reasonsInDoc();
    expect(code.size).toBeGreaterThan(0);
    expect([...code].filter((r) => !doc.has(r)).sort(), 'reasons missing from docs/errors.md').toEqual([]);
    expect([...doc].filter((r) => !code.has(r)).sort(), 'documented reasons no code declares').toEqual([]);
  });
});
