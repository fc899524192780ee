import type { Clock } from './clock.js';

/** An entry of a {@link FixedDelayQueue}. @internal */
export interface QueuedTimer {
  /** Set by the owner once the entry no longer needs to fire (its call settled). */
  done: boolean;
  /** When it falls due, on the queue's clock (ms). */
  readonly dueAt: number;
  /** Runs when due (only if not `done`). */
  fire(): void;
}

/**
 * Timers that all share one delay, so they fall due in the order they were
 * added: one FIFO and ONE clock timer (for its head) replace a timer per
 * entry. `setTimeout` + `clearTimeout` cost more than the rest of a policy's
 * success path; here a settled entry costs nothing but its `done` flag — it
 * is swept off the front when the head timer reaches it or when an entry is
 * added. The clock timer is unref'd: a pending timeout is not work.
 * @internal
 */
export class FixedDelayQueue<E extends QueuedTimer> {
  private readonly queue: E[] = [];
  private head = 0;
  private armed = false;

  constructor(private readonly clock: Clock) {}

  /** Adds an entry whose `dueAt` is not before that of any entry added earlier. */
  add(entry: E): void {
    const q = this.queue;
    while (this.head < q.length && (q[this.head] as E).done) this.head++;
    this.compact();
    q.push(entry);
    if (!this.armed) this.arm(entry.dueAt - this.clock.now());
  }

  /** Entries neither done nor fired. */
  pending(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) if (!(this.queue[i] as E).done) n++;
    return n;
  }

  private compact(): void {
    const q = this.queue;
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
  }

  private arm(delayMs: number): void {
    this.armed = true;
    this.clock.setTimeout(this.onTimer, Math.max(0, delayMs), { unref: true });
  }

  private readonly onTimer = (): void => {
    // `armed` stays true while entries fire, so one that adds an entry does not arm a second timer.
    const now = this.clock.now();
    const q = this.queue;
    while (this.head < q.length) {
      const entry = q[this.head] as E;
      if (entry.done) {
        this.head++;
      } else if (entry.dueAt <= now) {
        this.head++;
        entry.fire();
      } else break;
    }
    this.compact();
    this.armed = false;
    if (this.head < q.length) this.arm((q[this.head] as E).dueAt - now);
  };
}
