import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { AbortingCtx, type Ctx, type Operation } from './context.js';
import { DeadlineExceededError, invalidOption, TimeoutError } from './errors.js';
import { type Disposer, Emitter, type Listener } from './events.js';
import { FixedDelayQueue, type QueuedTimer } from './fixed-delay-queue.js';
import { isThenable, next, PolicyBase, type PolicyDescription } from './policy.js';

/**
 * - `'aggressive'`: the call rejects at the limit even if the operation
 *   ignores its signal (which still aborts); a late result is dropped.
 * - `'cooperative'`: at the limit the signal aborts and the call waits for
 *   the operation to stop; it then rejects with the timeout error (or returns
 *   the value, if the operation finished anyway). Nothing runs on after the
 *   call returns, provided the operation honours its signal.
 */
export type TimeoutStrategy = 'aggressive' | 'cooperative';

/** Options of {@link timeout}. */
export interface TimeoutOptions {
  /** Default `'aggressive'`. */
  readonly strategy?: TimeoutStrategy;
  /** Names the operation in `TimeoutError` messages, events and metrics. Default `'operation'`. */
  readonly name?: string;
  /** Default {@link systemClock}. */
  readonly clock?: Clock;
}

/** Emitted when a call times out. */
export interface TimeoutEvent {
  readonly policy: string;
  /** The limit that passed, in ms (the deadline's remaining time when that was tighter). */
  readonly timeoutMs: number;
  /** True when the call's deadline, not the policy's own limit, ran out. */
  readonly byDeadline: boolean;
}

/** A snapshot of a {@link TimeoutPolicy}. */
export interface TimeoutMetrics {
  readonly kind: 'timeout';
  readonly name: string;
  readonly calls: number;
  /** Calls that timed out (own limit or deadline). */
  readonly timeouts: number;
  /** Calls running now under the policy's limit. */
  readonly pending: number;
}

/** One call under a timeout: its context for the operation and its entry in the timer queue. */
class TimeoutCall extends AbortingCtx implements QueuedTimer {
  done = false;
  timedOut = false;
  error: Error | undefined;
  ownTimer: TimerHandle | undefined;
  reject: ((error: unknown) => void) | undefined;

  constructor(
    parent: Ctx,
    readonly dueAt: number,
    readonly limitMs: number,
    readonly byDeadline: boolean,
    readonly policy: TimeoutPolicy,
  ) {
    super(parent, parent.attempt, dueAt, policy.clock);
  }

  settle(): void {
    this.done = true;
    this.release();
    if (this.ownTimer !== undefined) this.policy.clock.clearTimeout(this.ownTimer);
  }

  fire(): void {
    if (this.done) return;
    this.done = true;
    this.timedOut = true;
    const error = this.policy.timedOut(this);
    this.error = error;
    this.abort(error);
    this.reject?.(error);
  }
}

/** Bounds how long an operation may take. See {@link timeout}. */
export class TimeoutPolicy extends PolicyBase {
  readonly name: string;
  readonly ms: number;
  readonly strategy: TimeoutStrategy;
  /** @internal */
  readonly clock: Clock;
  private readonly timeoutEvents = new Emitter<TimeoutEvent>();
  private calls = 0;
  private timeouts = 0;
  // Every call under the policy's own limit falls due `ms` after it starts,
  // in start order: one shared timer for all of them (see FixedDelayQueue).
  private readonly queue: FixedDelayQueue<TimeoutCall>;

  constructor(ms: number, options: TimeoutOptions = {}) {
    super();
    if (!(ms > 0)) throw invalidOption('timeout', 'ms', `must be > 0 (Infinity: deadline only), got ${ms}`);
    this.ms = ms;
    this.strategy = options.strategy ?? 'aggressive';
    this.name = options.name ?? 'operation';
    this.clock = options.clock ?? systemClock;
    this.queue = new FixedDelayQueue(this.clock);
  }

  /** @internal */
  run(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown> {
    this.calls++;
    const now = this.clock.now();
    let limit = this.ms;
    let byDeadline = false;
    const deadline = ctx.deadline;
    if (deadline !== undefined) {
      const left = deadline.at - deadline.clock.now();
      if (left <= 0) {
        this.timeouts++;
        return Promise.reject(
          new DeadlineExceededError(`${this.name}: deadline exceeded before the call`, this.name),
        );
      }
      if (left < limit) {
        limit = left;
        byDeadline = true;
      }
    }
    const call = new TimeoutCall(ctx, now + limit, limit, byDeadline, this);
    if (byDeadline) {
      call.ownTimer = this.clock.setTimeout(() => call.fire(), limit, { unref: true });
    } else if (limit !== Number.POSITIVE_INFINITY) {
      this.queue.add(call);
    }
    let result: unknown;
    try {
      result = next(fn, chain, index, call);
    } catch (error) {
      call.settle();
      return Promise.reject(error);
    }
    if (!isThenable(result)) {
      call.settle();
      return Promise.resolve(result);
    }
    return this.strategy === 'aggressive' ? race(call, result) : cooperate(call, result);
  }

  /** Builds the error for an expired call and counts it. @internal */
  timedOut(call: TimeoutCall): Error {
    this.timeouts++;
    if (this.timeoutEvents.active) {
      this.timeoutEvents.emit({ policy: this.name, timeoutMs: call.limitMs, byDeadline: call.byDeadline });
    }
    return call.byDeadline
      ? new DeadlineExceededError(`${this.name}: deadline exceeded after ${call.limitMs} ms`, this.name)
      : new TimeoutError(this.name, call.limitMs);
  }

  /** Listens for timed-out calls. */
  onTimeout(listener: Listener<TimeoutEvent>): Disposer {
    return this.timeoutEvents.on(listener);
  }

  describe(): PolicyDescription {
    return { kind: 'timeout', name: this.name, options: { ms: this.ms, strategy: this.strategy } };
  }

  metrics(): TimeoutMetrics {
    const pending = this.queue.pending();
    return { kind: 'timeout', name: this.name, calls: this.calls, timeouts: this.timeouts, pending };
  }
}

/** Aggressive: settles with the operation or with the timeout, whichever is first. */
function race(call: TimeoutCall, result: PromiseLike<unknown>): Promise<unknown> {
  if (call.timedOut) {
    // Timed out before the operation even returned (a synchronous clock jump): drop its late outcome.
    result.then(undefined, () => {});
    return Promise.reject(call.error);
  }
  return new Promise((resolve, reject) => {
    call.reject = reject;
    result.then(
      (value) => {
        if (call.done) return;
        call.settle();
        resolve(value);
      },
      (error: unknown) => {
        if (call.done) return;
        call.settle();
        reject(error);
      },
    );
  });
}

/** Cooperative: waits for the operation; a failure after the limit becomes the timeout error. */
async function cooperate(call: TimeoutCall, result: PromiseLike<unknown>): Promise<unknown> {
  try {
    return await result;
  } catch (error) {
    if (call.timedOut && call.error !== undefined && error !== call.error) {
      // The operation stopped because of our abort: report the timeout, keep its error as cause.
      Object.defineProperty(call.error, 'cause', { value: error, configurable: true, writable: true });
    }
    throw call.timedOut ? call.error : error;
  } finally {
    call.settle();
  }
}

/**
 * Bounds how long an operation may take: `ms`, or what is left of the
 * call's deadline when that is tighter (then the error is a
 * `DeadlineExceededError`; a deadline already passed rejects at once without
 * running the operation). The operation's signal aborts at the limit with
 * the error as its reason. The success path neither aborts nor creates an
 * `AbortController` (unless the operation reads `signal`), and all calls of
 * one policy share one timer.
 *
 * @param ms the limit in milliseconds (> 0; `Infinity` applies only the deadline).
 * @example
 * ```ts
 * const policy = timeout(2_000, { name: 'inventory.check' });
 * await policy.execute(({ signal }) => fetchStock('sku-1', { signal }));
 * ```
 */
export function timeout(ms: number, options: TimeoutOptions = {}): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
