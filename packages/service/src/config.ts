import { type FieldViolation, SluiceError } from '@sluice/errors';
import { ServiceReasons } from './reasons.js';

/** How one environment variable is read. */
export type EnvVar =
  | { readonly type: 'string'; readonly default?: string; readonly pattern?: RegExp }
  | { readonly type: 'int'; readonly default?: number; readonly min?: number; readonly max?: number }
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly default?: string }
  | { readonly type: 'bool'; readonly default?: boolean };

type ValueOf<V extends EnvVar> = V extends { type: 'int' }
  ? number
  : V extends { type: 'bool' }
    ? boolean
    : V extends { type: 'enum'; values: readonly (infer E)[] }
      ? E
      : string;

/** The typed configuration read by {@link readEnv}. */
export type EnvConfig<S extends Record<string, EnvVar>> = { readonly [K in keyof S]: ValueOf<S[K]> };

/**
 * Reads and validates environment variables once, at start, and fails fast
 * with every problem listed (`SERVICE_INVALID_CONFIG`). A variable without a
 * default is required.
 *
 * @example
 * ```ts
 * const config = readEnv(process.env, {
 *   PORT: { type: 'int', default: 8083, min: 0, max: 65535 },
 *   SLUICE_SAGA_MODE: { type: 'enum', values: ['orchestration', 'choreography'], default: 'orchestration' },
 * });
 * config.PORT; // number
 * ```
 */
export function readEnv<S extends Record<string, EnvVar>>(
  env: Readonly<Record<string, string | undefined>>,
  spec: S,
): EnvConfig<S> {
  const out: Record<string, unknown> = {};
  const violations: FieldViolation[] = [];
  for (const [name, v] of Object.entries(spec)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      if (v.default === undefined) violations.push({ field: name, message: 'is required' });
      else out[name] = v.default;
      continue;
    }
    switch (v.type) {
      case 'string':
        if (v.pattern && !v.pattern.test(raw))
          violations.push({ field: name, message: `must match ${v.pattern}` });
        else out[name] = raw;
        break;
      case 'int': {
        const n = Number(raw);
        if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n))
          violations.push({ field: name, message: 'must be an integer' });
        else if ((v.min !== undefined && n < v.min) || (v.max !== undefined && n > v.max))
          violations.push({ field: name, message: `must be in ${v.min ?? '-∞'}…${v.max ?? '∞'}` });
        else out[name] = n;
        break;
      }
      case 'enum':
        if (!v.values.includes(raw))
          violations.push({ field: name, message: `must be one of ${v.values.join(', ')}` });
        else out[name] = raw;
        break;
      case 'bool':
        if (!['true', 'false', '1', '0'].includes(raw))
          violations.push({ field: name, message: 'must be true or false' });
        else out[name] = raw === 'true' || raw === '1';
        break;
    }
  }
  if (violations.length > 0) {
    throw new SluiceError({
      code: 'invalid_argument',
      reason: ServiceReasons.INVALID_CONFIG,
      message: `invalid configuration: ${violations.map((x) => `${x.field} ${x.message}`).join('; ')}`,
      details: { violations },
    });
  }
  return out as EnvConfig<S>;
}
