import { AsyncLocalStorage } from 'node:async_hooks';
import { type Clock, systemClock } from './clock.js';
import { DeadlineExceededError } from './errors.js';

/**
 * The absolute time by which a request must be done, carried from the edge
 * through every call it makes. A callee gets what is left of it (minus an
 * overhead for the trip back) — gRPC's `grpc-timeout` model. Immutable.
 *
 * @example
 * ```ts
 * const deadline = Deadline.after(2_000);        // the whole request has 2 s
 * const forCallee = deadline.downstream(50);     // what the callee may use
 * forCallee.remaining();                         // ≈ 1 950 ms
 * ```
 */
export class Deadline {
  /** The time, on `clock`'s scale (milliseconds), at which the deadline passes. */
  readonly at: number;
  /** The clock the deadline is measured on. */
  readonly clock: Clock;

  private constructor(at: number, clock: Clock) {
    this.at = at;
    this.clock = clock;
  }

  /** A deadline `ms` milliseconds from now (negative counts as 0). Default clock: {@link systemClock}. */
  static after(ms: number, clock: Clock = systemClock): Deadline {
    return new Deadline(clock.now() + Math.max(0, ms), clock);
  }

  /** A deadline at absolute time `at` on `clock`'s scale. */
  static at(at: number, clock: Clock = systemClock): Deadline {
    return new Deadline(at, clock);
  }

  /** Milliseconds left, never negative. */
  remaining(): number {
    return Math.max(0, this.at - this.clock.now());
  }

  /** True once no time is left. */
  get expired(): boolean {
    return this.clock.now() >= this.at;
  }

  /**
   * The deadline a callee may use: this one minus `overheadMs` (the time the
   * response needs to come back and be handled).
   *
   * @param overheadMs milliseconds kept back for the caller. Default 0.
   * @throws DeadlineExceededError at once when nothing would be left.
   */
  downstream(overheadMs = 0): Deadline {
    const at = this.at - Math.max(0, overheadMs);
    if (at <= this.clock.now()) {
      throw new DeadlineExceededError(
        overheadMs > 0
          ? `deadline leaves less than the ${overheadMs} ms overhead for a downstream call`
          : 'deadline exceeded before the downstream call',
      );
    }
    return new Deadline(at, this.clock);
  }

  /** The tighter of this deadline and `other` (this one when `other` is undefined). */
  min(other: Deadline | undefined): Deadline {
    return other === undefined || this.at <= other.at ? this : other;
  }

  /** @throws DeadlineExceededError when the deadline has passed. */
  throwIfExpired(operation?: string): void {
    if (this.expired) throw new DeadlineExceededError(undefined, operation);
  }
}

// Created on the first `withDeadline()`: an AsyncLocalStorage that is never
// entered costs nothing, and programs that never opt in never pay for it.
let storage: AsyncLocalStorage<Deadline> | undefined;

/**
 * Runs `fn` with `deadline` as the current deadline (AsyncLocalStorage), so
 * every policy and client below it sees it without passing it by hand. A
 * nested call can only tighten the current deadline, never extend it.
 * Opt-in: nothing uses AsyncLocalStorage until the first call of this.
 */
export function withDeadline<T>(deadline: Deadline, fn: () => T): T {
  storage ??= new AsyncLocalStorage<Deadline>();
  return storage.run(deadline.min(storage.getStore()), fn);
}

/** The deadline set by the nearest enclosing {@link withDeadline}, if any. */
export function currentDeadline(): Deadline | undefined {
  return storage?.getStore();
}
