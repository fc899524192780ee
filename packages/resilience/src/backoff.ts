import { invalidOption } from './errors.js';
/**
 * How long to wait before a retry (and how long a breaker stays open after
 * each consecutive opening).
 */
export interface Backoff {
  /**
   * The delay before retry number `retry` (1 for the first retry), in
   * milliseconds.
   * @param previousMs the delay this backoff returned for the previous retry
   *   (undefined before the first), for decorrelated jitter.
   */
  delayMs(retry: number, previousMs: number | undefined): number;
  /** Plain-JSON settings, for `describe()`. */
  describe(): Readonly<Record<string, unknown>>;
}

/** The same delay before every retry. */
export function constant(ms: number): Backoff {
  if (!(ms >= 0)) throw invalidOption('constant backoff', 'ms', `must be >= 0, got ${ms}`);
  return {
    delayMs: () => ms,
    describe: () => ({ type: 'constant', ms }),
  };
}

/** Options of {@link exponential}. */
export interface ExponentialOptions {
  /** Delay before the first retry, in ms (and the lower bound of decorrelated jitter). Default 100. */
  readonly baseMs?: number;
  /** Growth factor per retry. Default 2. */
  readonly multiplier?: number;
  /** Upper bound of any delay, in ms. Default 10 000. */
  readonly maxMs?: number;
  /**
   * - `'none'`: `min(baseMs · multiplier^(n-1), maxMs)`.
   * - `'full'`: a uniform random value in `[0, that)` (AWS "full jitter"): spreads retries best.
   * - `'decorrelated'`: `min(maxMs, random(baseMs, previous · 3))`, never below `baseMs`.
   *
   * Default `'full'`.
   */
  readonly jitter?: 'none' | 'full' | 'decorrelated';
  /** Source of uniform numbers in [0, 1). Default `Math.random` (tests pass their own). */
  readonly random?: () => number;
}

/**
 * Exponential backoff, capped, with optional jitter so that clients that
 * failed together do not retry together.
 *
 * @example
 * ```ts
 * retry({ maxAttempts: 4, backoff: exponential({ baseMs: 50, maxMs: 2_000, jitter: 'decorrelated' }) });
 * ```
 */
export function exponential(options: ExponentialOptions = {}): Backoff {
  const baseMs = options.baseMs ?? 100;
  const multiplier = options.multiplier ?? 2;
  const maxMs = options.maxMs ?? 10_000;
  const jitter = options.jitter ?? 'full';
  const random = options.random ?? Math.random;
  if (!(baseMs >= 0)) throw invalidOption('exponential backoff', 'baseMs', `must be >= 0, got ${baseMs}`);
  if (!(multiplier >= 1))
    throw invalidOption('exponential backoff', 'multiplier', `must be >= 1, got ${multiplier}`);
  if (!(maxMs >= baseMs))
    throw invalidOption('exponential backoff', 'maxMs', `must be >= baseMs, got ${maxMs}`);
  const capped = (retry: number) => Math.min(maxMs, baseMs * multiplier ** Math.max(0, retry - 1));
  const describe = () => ({ type: 'exponential', baseMs, multiplier, maxMs, jitter });
  switch (jitter) {
    case 'none':
      return { delayMs: capped, describe };
    case 'full':
      return { delayMs: (retry) => random() * capped(retry), describe };
    case 'decorrelated':
      return {
        delayMs: (_retry, previousMs) => {
          const upper = Math.max(baseMs, (previousMs ?? baseMs) * 3);
          return Math.min(maxMs, baseMs + random() * (upper - baseMs));
        },
        describe,
      };
    default:
      throw invalidOption(
        'exponential backoff',
        'jitter',
        `must be 'none', 'full' or 'decorrelated', got ${String(jitter)}`,
      );
  }
}

/**
 * Exponential backoff with full jitter: a uniform delay in
 * `[0, min(baseMs · multiplier^(n-1), maxMs))` — `exponential({ ...options, jitter: 'full' })`.
 */
export function fullJitter(options: Omit<ExponentialOptions, 'jitter'> = {}): Backoff {
  return exponential({ ...options, jitter: 'full' });
}

/**
 * Decorrelated jitter: `min(maxMs, random(baseMs, previous · 3))`, always in
 * `[baseMs, maxMs]` — `exponential({ ...options, jitter: 'decorrelated' })`
 * (`multiplier` plays no part).
 */
export function decorrelatedJitter(options: Omit<ExponentialOptions, 'jitter' | 'multiplier'> = {}): Backoff {
  return exponential({ ...options, jitter: 'decorrelated' });
}
