import type { Clock, TimerHandle } from './clock.js';

// A minimal hand-driven clock for this package's own tests. The public one
// (`createVirtualClock()`) lives in @sluice/testing, which depends on this
// package; importing it here would make the two projects reference each
// other, which `tsc -b` cannot build.

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  live: boolean;
}

/** Lets every pending promise callback run (one macrotask turn). */
export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A clock that moves only when a test calls `advance()`. */
export class TestClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer: Timer = { at: this.t + Math.max(0, delayMs), seq: this.seq++, callback, live: true };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as Timer).live = false;
  }

  /** Timers not yet run nor cleared. */
  get pending(): number {
    return this.timers.filter((t) => t.live).length;
  }

  /** Moves time forward by `ms`, running due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      this.timers = this.timers.filter((t) => t.live);
      let due: Timer | undefined;
      for (const t of this.timers) {
        if (t.at <= end && (due === undefined || t.at < due.at || (t.at === due.at && t.seq < due.seq)))
          due = t;
      }
      if (due === undefined) break;
      this.t = Math.max(this.t, due.at);
      due.live = false;
      due.callback();
    }
    this.t = end;
    await flush();
  }
}

/** Asserts that `build` throws the invalid-option error naming `field` (throws otherwise). */
export function expectInvalidOption(build: () => unknown, field: string): void {
  try {
    build();
  } catch (error) {
    const e = error as { code?: unknown; reason?: unknown; details?: { violations?: { field?: unknown }[] } };
    if (
      e.code === 'invalid_argument' &&
      e.reason === 'RESILIENCE_INVALID_OPTION' &&
      e.details?.violations?.[0]?.field === field
    )
      return;
    throw new Error(`expected the invalid-option error for ${field}, got ${String(error)}`);
  }
  throw new Error(`expected the invalid-option error for ${field}, nothing was thrown`);
}
