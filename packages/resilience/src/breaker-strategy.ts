import { invalidOption } from './errors.js';
/** Why a breaker opened. */
export type BreakReason =
  /** The strategy's failure count or rate was reached. */
  | 'failures'
  /** The slow-call rate was reached. */
  | 'slow-calls'
  /** A probe failed while half-open. */
  | 'half-open-failure'
  /** `isolate()` was called. */
  | 'isolated';

/** What a strategy's window holds now. */
export interface BreakerWindow {
  /** Calls counted in the window. */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** failures / calls (0 when empty). */
  readonly failureRate: number;
  /** slowCalls / calls (0 when empty). */
  readonly slowCallRate: number;
}

/** The live state of one breaker's strategy. @internal */
export interface StrategyState {
  /** Records one outcome seen while closed; returns why to open, if it should. */
  record(failure: boolean, slow: boolean, now: number): BreakReason | undefined;
  /** Forgets everything (on close and on reset). */
  reset(): void;
  window(now: number): BreakerWindow;
}

/**
 * When a closed breaker opens. Made by {@link consecutive}, {@link countWindow}
 * or {@link timeWindow}; each breaker creates its own state from it, so one
 * strategy value may configure many breakers.
 */
export interface BreakerStrategy {
  readonly kind: 'consecutive' | 'count-window' | 'time-window';
  /** True when the strategy needs the time of each outcome (time windows). */
  readonly needsClock: boolean;
  /** @internal */
  create(slowCallRateThreshold: number | undefined): StrategyState;
  describe(): Readonly<Record<string, unknown>>;
}

const rate = (n: number, of: number) => (of === 0 ? 0 : n / of);

function checkRate(factory: string, field: string, value: number): void {
  if (!(value > 0 && value <= 1)) throw invalidOption(factory, field, `must be in (0, 1], got ${value}`);
}

/**
 * Opens after `threshold` failures in a row (a success resets the count).
 * With `slowCall` set, a slow call counts as a failure here.
 */
export function consecutive(threshold: number): BreakerStrategy {
  if (!Number.isInteger(threshold) || threshold < 1)
    throw invalidOption('consecutive', 'threshold', `must be an integer >= 1, got ${threshold}`);
  return {
    kind: 'consecutive',
    needsClock: false,
    describe: () => ({ type: 'consecutive', threshold }),
    create(slowThreshold) {
      let failures = 0;
      let slowCalls = 0;
      return {
        record(failure, slow) {
          if (failure || (slow && slowThreshold !== undefined)) {
            if (failure) failures++;
            else slowCalls++;
            if (failures + slowCalls >= threshold) return failures > 0 ? 'failures' : 'slow-calls';
          } else {
            failures = 0;
            slowCalls = 0;
          }
          return undefined;
        },
        reset() {
          failures = 0;
          slowCalls = 0;
        },
        window() {
          const calls = failures + slowCalls;
          return {
            calls,
            failures,
            slowCalls,
            failureRate: rate(failures, calls),
            slowCallRate: rate(slowCalls, calls),
          };
        },
      };
    },
  };
}

/** Options of {@link countWindow}. */
export interface CountWindowOptions {
  /** How many of the latest calls the window holds. */
  readonly size: number;
  /** Failure rate, in (0, 1], at or above which the breaker opens. Default 0.5. */
  readonly failureRateThreshold?: number;
  /** Calls the window must hold before any rate counts. Default `size`. */
  readonly minimumCalls?: number;
}

/** Opens when the failure (or slow-call) rate over the last `size` calls reaches its threshold. */
export function countWindow(options: CountWindowOptions): BreakerStrategy {
  const size = options.size;
  const threshold = options.failureRateThreshold ?? 0.5;
  const minimumCalls = options.minimumCalls ?? size;
  if (!Number.isInteger(size) || size < 1)
    throw invalidOption('countWindow', 'size', `must be an integer >= 1, got ${size}`);
  checkRate('countWindow', 'failureRateThreshold', threshold);
  if (!(minimumCalls >= 1 && minimumCalls <= size))
    throw invalidOption('countWindow', 'minimumCalls', `must be in [1, size], got ${minimumCalls}`);
  return {
    kind: 'count-window',
    needsClock: false,
    describe: () => ({ type: 'count-window', size, failureRateThreshold: threshold, minimumCalls }),
    create(slowThreshold) {
      // One byte per call: bit 0 failure, bit 1 slow.
      const ring = new Uint8Array(size);
      let at = 0;
      let calls = 0;
      let failures = 0;
      let slowCalls = 0;
      return {
        record(failure, slow) {
          if (calls === size) {
            const old = ring[at] as number;
            failures -= old & 1;
            slowCalls -= old >> 1;
          } else calls++;
          ring[at] = (failure ? 1 : 0) | (slow ? 2 : 0);
          at = at + 1 === size ? 0 : at + 1;
          if (failure) failures++;
          if (slow) slowCalls++;
          if (calls < minimumCalls) return undefined;
          if (failures / calls >= threshold) return 'failures';
          if (slowThreshold !== undefined && slowCalls / calls >= slowThreshold) return 'slow-calls';
          return undefined;
        },
        reset() {
          ring.fill(0);
          at = 0;
          calls = 0;
          failures = 0;
          slowCalls = 0;
        },
        window() {
          return {
            calls,
            failures,
            slowCalls,
            failureRate: rate(failures, calls),
            slowCallRate: rate(slowCalls, calls),
          };
        },
      };
    },
  };
}

/** Options of {@link timeWindow}. */
export interface TimeWindowOptions {
  /** Length of the sliding window, in ms. Default 10 000. */
  readonly windowMs?: number;
  /** Buckets the window slides by (its resolution is `windowMs / buckets`). Default 10. */
  readonly buckets?: number;
  /** Failure rate, in (0, 1], at or above which the breaker opens. Default 0.5. */
  readonly failureRateThreshold?: number;
  /** Calls the window must hold before any rate counts. Default 10. */
  readonly minimumThroughput?: number;
}

/**
 * Opens when the failure (or slow-call) rate over the last `windowMs`
 * reaches its threshold, once at least `minimumThroughput` calls were seen.
 */
export function timeWindow(options: TimeWindowOptions = {}): BreakerStrategy {
  const windowMs = options.windowMs ?? 10_000;
  const buckets = options.buckets ?? 10;
  const threshold = options.failureRateThreshold ?? 0.5;
  const minimumThroughput = options.minimumThroughput ?? 10;
  if (!(windowMs > 0)) throw invalidOption('timeWindow', 'windowMs', `must be > 0, got ${windowMs}`);
  if (!Number.isInteger(buckets) || buckets < 1)
    throw invalidOption('timeWindow', 'buckets', `must be an integer >= 1, got ${buckets}`);
  checkRate('timeWindow', 'failureRateThreshold', threshold);
  if (!(minimumThroughput >= 1))
    throw invalidOption('timeWindow', 'minimumThroughput', `must be >= 1, got ${minimumThroughput}`);
  const bucketMs = windowMs / buckets;
  return {
    kind: 'time-window',
    needsClock: true,
    describe: () => ({
      type: 'time-window',
      windowMs,
      buckets,
      failureRateThreshold: threshold,
      minimumThroughput,
    }),
    create(slowThreshold) {
      // The bucket number each slot holds; -Infinity = empty (never inside a window,
      // also when the clock is still within its first `buckets` buckets).
      const epoch = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
      const calls = new Uint32Array(buckets);
      const failures = new Uint32Array(buckets);
      const slows = new Uint32Array(buckets);
      const sum = (now: number): BreakerWindow => {
        const current = Math.floor(now / bucketMs);
        let c = 0;
        let f = 0;
        let s = 0;
        for (let i = 0; i < buckets; i++) {
          const e = epoch[i] as number;
          if (e > current - buckets && e <= current) {
            c += calls[i] as number;
            f += failures[i] as number;
            s += slows[i] as number;
          }
        }
        return { calls: c, failures: f, slowCalls: s, failureRate: rate(f, c), slowCallRate: rate(s, c) };
      };
      return {
        record(failure, slow, now) {
          const current = Math.floor(now / bucketMs);
          const slot = ((current % buckets) + buckets) % buckets;
          if (epoch[slot] !== current) {
            epoch[slot] = current;
            calls[slot] = 0;
            failures[slot] = 0;
            slows[slot] = 0;
          }
          calls[slot] = (calls[slot] as number) + 1;
          if (failure) failures[slot] = (failures[slot] as number) + 1;
          if (slow) slows[slot] = (slows[slot] as number) + 1;
          const w = sum(now);
          if (w.calls < minimumThroughput) return undefined;
          if (w.failureRate >= threshold) return 'failures';
          if (slowThreshold !== undefined && w.slowCallRate >= slowThreshold) return 'slow-calls';
          return undefined;
        },
        reset() {
          epoch.fill(Number.NEGATIVE_INFINITY);
        },
        window: sum,
      };
    },
  };
}
