#!/usr/bin/env node
/**
 * The dependency rules of the repository, checked on every `npm run lint`:
 *
 * 1. a package (packages/*) never imports a service (services/*) or an app;
 * 2. a service never imports another service's source (by path or by name);
 * 3. a service's `src/domain/` imports nothing outward: only other files
 *    under `src/domain/` (no framework, no infrastructure, no other package);
 * 4. `@sluice/resilience` has no runtime dependency but `@sluice/errors`.
 *
 * Usage: node scripts/check-architecture.mjs [root]  (exit 1 and a list on violation)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\s\S]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;
const SOURCE_EXT = /\.(?:ts|tsx|mts|cts|js|mjs|cjs)$/;

/** Lists source files under `dir`, skipping node_modules, dist and generated code. */
function* walk(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (SOURCE_EXT.test(entry.name) && !entry.name.endsWith('.d.ts')) yield full;
  }
}

/** Every module specifier a source file imports, exports from, or requires. */
export function importsOf(source) {
  const out = [];
  for (const m of source.matchAll(IMPORT_RE)) out.push(m[1] ?? m[2] ?? m[3]);
  return out.filter(Boolean);
}

/** Reads workspace package names (`name` → folder) for services and apps. */
function workspaceNames(root, group) {
  const names = new Map();
  const base = path.join(root, group);
  if (!fs.existsSync(base)) return names;
  for (const dir of fs.readdirSync(base)) {
    const pj = path.join(base, dir, 'package.json');
    if (fs.existsSync(pj)) names.set(JSON.parse(fs.readFileSync(pj, 'utf8')).name, dir);
  }
  return names;
}

/** Checks the rules under `root`; returns a list of violation strings. */
export function checkArchitecture(root) {
  const violations = [];
  const serviceNames = workspaceNames(root, 'services');
  const appNames = workspaceNames(root, 'apps');
  const rel = (f) => path.relative(root, f);

  const check = (file, fn) => {
    const source = fs.readFileSync(file, 'utf8');
    for (const spec of importsOf(source)) {
      const target = spec.startsWith('.') ? path.resolve(path.dirname(file), spec) : undefined;
      const problem = fn(spec, target && rel(target));
      if (problem) violations.push(`${rel(file)}: imports '${spec}': ${problem}`);
    }
  };

  for (const file of walk(path.join(root, 'packages'))) {
    const pkg = rel(file).split(path.sep)[1];
    check(file, (spec, target) => {
      if (serviceNames.has(spec) || target?.startsWith(`services${path.sep}`))
        return 'a package must not depend on a service';
      if (appNames.has(spec) || target?.startsWith(`apps${path.sep}`))
        return 'a package must not depend on an app';
      if (
        pkg === 'resilience' &&
        !file.endsWith('.test.ts') &&
        !spec.startsWith('.') &&
        !spec.startsWith('node:')
      ) {
        if (spec !== '@sluice/errors')
          return '@sluice/resilience has no runtime dependency but @sluice/errors';
      }
      return undefined;
    });
  }

  for (const file of walk(path.join(root, 'services'))) {
    const parts = rel(file).split(path.sep);
    const service = parts[1];
    const inDomain = parts[2] === 'src' && parts[3] === 'domain';
    check(file, (spec, target) => {
      const named = serviceNames.get(spec.split('/').slice(0, 2).join('/'));
      if (named && named !== service) return `a service must not import another service (${named})`;
      if (target?.startsWith(`services${path.sep}`) && target.split(path.sep)[1] !== service)
        return `a service must not import another service's source (${target.split(path.sep)[1]})`;
      if (inDomain && !file.endsWith('.test.ts')) {
        if (!target) return 'domain/ imports nothing outward (no packages, no frameworks)';
        const domainRoot = path.join('services', service, 'src', 'domain');
        if (!target.startsWith(domainRoot)) return 'domain/ must not import outside domain/';
      }
      return undefined;
    });
  }
  return violations;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const violations = checkArchitecture(root);
  if (violations.length) {
    console.error(`Architecture check: ${violations.length} violation(s)`);
    for (const v of violations) console.error(`  ${v}`);
    process.exit(1);
  }
  console.log('Architecture check: ok');
}
