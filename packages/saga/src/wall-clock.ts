import type { Clock, TimerHandle, TimerOptions } from '@sluice/resilience';

/**
 * The clock sagas use by default: `now()` is Unix epoch milliseconds
 * (`Date.now()`), because leases, deadlines and timestamps are shared with
 * other processes through the store. A clock given to the orchestrator must
 * also count epoch milliseconds (e.g. `createVirtualClock({ start: Date.now() })`).
 */
export const wallClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(callback: () => void, delayMs: number, options?: TimerOptions): TimerHandle {
    const t = setTimeout(callback, delayMs);
    if (options?.unref) t.unref();
    return t;
  },
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});
