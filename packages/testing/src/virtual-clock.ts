import type { Clock, TimerHandle, TimerOptions } from '@sluice/resilience';

/** Options of {@link createVirtualClock}. */
export interface VirtualClockOptions {
  /** The clock's time at creation, in ms. Default 0. */
  readonly start?: number;
}

/**
 * A {@link Clock} that moves only when the test says so. Pass it as the
 * `clock` option of any policy (and to `Deadline.after`), then `advance()`.
 */
export interface VirtualClock extends Clock {
  /** Current virtual time, in ms. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number, options?: TimerOptions): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /**
   * Moves time forward by `ms`, running every timer that falls due, in time
   * order (timers due at the same time: in the order they were set), and
   * letting pending promise callbacks run before each timer and at the end,
   * so code that sets a new timer after an `await` is caught in the same
   * advance.
   */
  advance(ms: number): Promise<void>;
  /** Like {@link advance}, to an absolute time (no-op if it is not ahead). */
  advanceTo(time: number): Promise<void>;
  /** Moves to the next due timer and runs it. Resolves false when no timer is pending. */
  runNext(): Promise<boolean>;
  /**
   * Runs timers until none is left, moving time as needed. Resolves with how
   * many ran. Throws once `limit` timers ran (default 10 000), which catches
   * code that re-arms a timer forever.
   */
  runAll(limit?: number): Promise<number>;
  /** Timers set and neither run nor cleared. */
  readonly pending: number;
}

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  live: boolean;
}

/** Lets every pending promise callback run (one macrotask turn; no time passes on any clock). */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const before = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/**
 * A hand-driven clock for tests: no test sleeps, and time-dependent
 * behaviour (timeouts, backoff, breaker breaks, queue timeouts, deadlines)
 * is exact and repeatable.
 *
 * @example
 * ```ts
 * const clock = createVirtualClock();
 * const call = timeout(100, { clock }).executeOutcome(() => new Promise(() => {}));
 * await clock.advance(100);          // the timeout fires
 * const outcome = await call;       // never rejects: { ok: false, error: TimeoutError }
 * ```
 */
export function createVirtualClock(options: VirtualClockOptions = {}): VirtualClock {
  let time = options.start ?? 0;
  let seq = 0;
  let live = 0;
  // A binary min-heap on (at, seq); cleared timers are dropped when they surface.
  const heap: Timer[] = [];

  const push = (timer: Timer) => {
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Timer, heap[parent] as Timer)) break;
      [heap[i], heap[parent]] = [heap[parent] as Timer, heap[i] as Timer];
      i = parent;
    }
  };
  const pop = (): Timer | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l] as Timer, heap[m] as Timer)) m = l;
        if (r < heap.length && before(heap[r] as Timer, heap[m] as Timer)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m] as Timer, heap[i] as Timer];
        i = m;
      }
    }
    return top;
  };
  const peekLive = (): Timer | undefined => {
    while (heap.length > 0 && !(heap[0] as Timer).live) pop();
    return heap[0];
  };
  const fire = (timer: Timer) => {
    pop();
    timer.live = false;
    live--;
    if (timer.at > time) time = timer.at;
    timer.callback();
  };

  const clock: VirtualClock = {
    now: () => time,
    setTimeout(callback, delayMs) {
      const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
      const timer: Timer = { at: time + delay, seq: seq++, callback, live: true };
      live++;
      push(timer);
      return timer;
    },
    clearTimeout(handle) {
      const timer = handle as Timer | undefined;
      if (timer?.live) {
        timer.live = false;
        live--;
      }
    },
    async advanceTo(target) {
      for (;;) {
        await flushPromises();
        const timer = peekLive();
        if (timer === undefined || timer.at > target) break;
        fire(timer);
      }
      if (target > time) time = target;
      await flushPromises();
    },
    advance(ms) {
      if (!(ms >= 0)) return Promise.reject(new RangeError(`advance: ms must be >= 0, got ${ms}`));
      return clock.advanceTo(time + ms);
    },
    async runNext() {
      await flushPromises();
      const timer = peekLive();
      if (timer === undefined) return false;
      fire(timer);
      await flushPromises();
      return true;
    },
    async runAll(limit = 10_000) {
      let ran = 0;
      while (await clock.runNext()) {
        if (++ran >= limit) throw new Error(`runAll: ${limit} timers ran and more keep coming`);
      }
      return ran;
    },
    get pending() {
      return live;
    },
  };
  return clock;
}
