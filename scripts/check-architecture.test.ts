import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { checkArchitecture, importsOf } from './check-architecture.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('checkArchitecture', () => {
  it('flags every deliberate violation in the fixture and nothing else', () => {
    const violations: string[] = checkArchitecture(path.join(here, 'fixtures/architecture'));
    expect(violations).toHaveLength(4);
    expect(violations.join('\n')).toMatch(/packages\/util\/src\/index.ts.*must not depend on a service/);
    expect(violations.join('\n')).toMatch(/domain\/order.ts: imports 'fastify'.*nothing outward/);
    expect(violations.join('\n')).toMatch(
      /domain\/order.ts: imports '..\/infrastructure\/repo.js'.*outside domain/,
    );
    expect(violations.join('\n')).toMatch(/api\/routes.ts: imports '@shop\/beta'.*another service/);
  });

  it('passes on the repository itself', () => {
    expect(checkArchitecture(path.join(here, '..'))).toEqual([]);
  });

  it('finds static, type-only, re-export, dynamic and require imports', () => {
    const src = `import a from 'a';\nimport type { B } from "b";\nexport * from './c.js';\nconst d = await import('d');\nconst e = require('e');\nimport 'f';`;
    expect(importsOf(src)).toEqual(['a', 'b', './c.js', 'd', 'e', 'f']);
  });
});
