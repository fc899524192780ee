import { SluiceError } from '@sluice/errors';
import { CliReasons } from './reasons.js';

function invalid(flag: string, message: string): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: CliReasons.INVALID_OPTION,
    message: `${flag}: ${message}`,
    details: { violations: [{ field: flag, message }] },
  });
}

/** Parses `250ms`, `30s`, `2m`, or a bare number of seconds, into milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw invalid(flag, `expected a duration like 500ms, 30s or 2m, got ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  const ms =
    n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  if (!(ms > 0) || ms > 24 * 3_600_000) throw invalid(flag, 'must be above 0 and at most 24h');
  return Math.round(ms);
}

/** Parses a positive integer flag within bounds. */
export function parseCount(flag: string, text: string, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw invalid(flag, `expected a whole number, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < 1 || n > max) throw invalid(flag, `must be 1…${max}`);
  return n;
}

/** Parses a probability in (0, 1]. */
export function parseProbability(flag: string, text: string): number {
  const n = Number(text);
  if (!(n > 0 && n <= 1)) throw invalid(flag, `expected a number in (0, 1], got ${JSON.stringify(text)}`);
  return n;
}

/** Parses `product:quantity` (quantity defaults to 1). */
export function parseItem(text: string): { productId: string; quantity: number } {
  const m = /^([A-Za-z0-9._:@-]{1,128}?)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw invalid('--item', `expected product[:quantity], e.g. mug:2, got ${JSON.stringify(text)}`);
  const quantity = m[2] === undefined ? 1 : Number(m[2]);
  if (quantity < 1) throw invalid('--item', 'quantity must be at least 1');
  return { productId: m[1] as string, quantity };
}
