/**
 * Time, as every policy sees it. Policies never call `Date.now()` or the
 * global timers directly: they take a `Clock`, so tests can drive time by
 * hand (see `createVirtualClock()` in `@sluice/testing`).
 */

/** A handle returned by {@link Clock.setTimeout}, opaque to policies. */
export type TimerHandle = unknown;

/** Options of {@link Clock.setTimeout}. */
export interface TimerOptions {
  /**
   * When true the timer does not keep the process alive (Node's
   * `timeout.unref()`). Timeouts use it: a pending timeout is not work.
   * Retry sleeps do not: a sleeping retry is work in progress. Default: false.
   */
  readonly unref?: boolean;
}

/** A source of time and timers. */
export interface Clock {
  /** Current time in milliseconds on a monotonic scale (only differences are meaningful). */
  now(): number;
  /** Calls `callback` once after `delayMs` milliseconds. */
  setTimeout(callback: () => void, delayMs: number, options?: TimerOptions): TimerHandle;
  /** Cancels a timer; a no-op for a timer that already ran or was cleared. */
  clearTimeout(handle: TimerHandle): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The real clock: `performance.now()` (monotonic, unaffected by wall-clock
 * adjustments) and Node's timers. The default of every policy.
 */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout(callback: () => void, delayMs: number, options?: TimerOptions): TimerHandle {
    // Node fires a delay above 2^31 - 1 ms after 1 ms instead: clamp it to ~24.8 days.
    const t = setTimeout(callback, Math.min(delayMs, MAX_TIMER_MS));
    if (options?.unref) t.unref();
    return t;
  },
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});
