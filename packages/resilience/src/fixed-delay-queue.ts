import type { Clock } from './clock.js';

/** An entry of a {@link FixedDelayQueue}. @internal */
export interface QueuedTimer {
  /** Set by the owner once the entry no longer needs to fire (its call settled). */
  done: boolean;
  /** When it falls due: set by the queue (clock ms, or a tick number). */
  due: number;
  /** Runs when due (only if not `done`). */
  fire(): void;
}

/**
 * The default resolution for a delay of `delayMs`: 0 (exact) below 1 s,
 * else 0.5 % of it, at most 5 ms.
 * @internal
 */
export function defaultResolution(delayMs: number): number {
  return delayMs >= 1_000 ? Math.min(5, delayMs / 200) : 0;
}

/**
 * Timers that all share one delay, so they fall due in the order they were
 * added: one FIFO and ONE clock timer replace a timer per entry
 * (`setTimeout` + `clearTimeout` cost more than the rest of a policy's
 * success path). A settled entry costs nothing but its `done` flag: it is
 * swept off the front when the timer reaches it or an entry is added. The
 * clock timer is unref'd: a pending timeout is not work.
 *
 * Two modes:
 * - exact (`resolutionMs` 0): each entry reads the clock and falls due at
 *   `now + delayMs`; the timer is armed for the head entry.
 * - ticking (`resolutionMs` r > 0): adding reads NO clock (a clock read,
 *   ~50 ns, is the largest cost left on a success path). While entries are
 *   pending, a timer ticks every r ms; an entry added during tick k falls
 *   due at tick k + ceil(delay / r) + 1. Ticks are at least r apart, so an
 *   entry never fires early, and at most about 2·r late (plus event-loop
 *   lag); the ticking stops as soon as the queue is empty.
 * @internal
 */
export class FixedDelayQueue<E extends QueuedTimer> {
  // A ring buffer (no array length changes on the hot path): entries live
  // in ring[head .. head + size), indices modulo the capacity (a power of 2).
  private ring: (E | undefined)[] = new Array(16).fill(undefined);
  private mask = 15;
  private head = 0;
  private size = 0;
  private armed = false;
  private readonly dueTicks: number;
  private tick = 0;
  /** The clock time of the current tick (ticking mode), for {@link startedNoEarlierThan}. */
  private tickAt = 0;

  constructor(
    private readonly clock: Clock,
    private readonly delayMs: number,
    private readonly resolutionMs: number,
  ) {
    this.dueTicks = resolutionMs > 0 ? Math.ceil(delayMs / resolutionMs) + 1 : 0;
  }

  /** Adds an entry; it falls due `delayMs` from now. */
  add(entry: E): void {
    this.dropDone();
    if (this.resolutionMs > 0) {
      if (!this.armed) {
        // Idle until now: the ticking restarts at this instant.
        this.tickAt = this.clock.now();
        this.armed = true;
        this.clock.setTimeout(this.onTick, this.resolutionMs, { unref: true });
      }
      entry.due = this.tick + this.dueTicks;
      this.push(entry);
    } else {
      entry.due = this.clock.now() + this.delayMs;
      this.push(entry);
      if (!this.armed) this.arm(this.delayMs);
    }
  }

  /**
   * A clock time no later than when `entry` was added (exact mode: exactly
   * then), for deadlines derived from it.
   */
  startedNoEarlierThan(entry: E): number {
    if (this.resolutionMs === 0) return entry.due - this.delayMs;
    return this.tickAt - (this.tick - (entry.due - this.dueTicks)) * this.resolutionMs;
  }

  /** Entries neither done nor fired. */
  pending(): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) if (!(this.ring[(this.head + i) & this.mask] as E).done) n++;
    return n;
  }

  private push(entry: E): void {
    if (this.size > this.mask) this.grow();
    this.ring[(this.head + this.size) & this.mask] = entry;
    this.size++;
  }

  private grow(): void {
    const old = this.ring;
    const next: (E | undefined)[] = new Array(old.length * 2).fill(undefined);
    for (let i = 0; i < this.size; i++) next[i] = old[(this.head + i) & this.mask];
    this.ring = next;
    this.mask = next.length - 1;
    this.head = 0;
  }

  /** Removes the front entry (clearing its slot, so a settled call is not kept alive). */
  private shift(): E {
    const entry = this.ring[this.head] as E;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    return entry;
  }

  private dropDone(): void {
    while (this.size > 0 && (this.ring[this.head] as E).done) this.shift();
  }

  private arm(delayMs: number): void {
    this.armed = true;
    this.clock.setTimeout(this.onTimer, Math.max(0, delayMs), { unref: true });
  }

  /** Fires every entry due at `now` (a time or a tick); returns whether entries remain. */
  private sweep(now: number): boolean {
    while (this.size > 0) {
      const entry = this.ring[this.head] as E;
      if (entry.done) this.shift();
      else if (entry.due <= now) {
        this.shift();
        entry.fire();
      } else break;
    }
    return this.size > 0;
  }

  // `armed` stays true while entries fire, so one that adds an entry does not arm a second timer.
  private readonly onTimer = (): void => {
    const now = this.clock.now();
    const more = this.sweep(now);
    this.armed = false;
    if (more) this.arm((this.ring[this.head] as E).due - now);
  };

  private readonly onTick = (): void => {
    this.tick++;
    this.tickAt = this.clock.now();
    const more = this.sweep(this.tick);
    if (more) this.clock.setTimeout(this.onTick, this.resolutionMs, { unref: true });
    else this.armed = false;
  };
}
