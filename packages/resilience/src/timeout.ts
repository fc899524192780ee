import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { AbortingCtx, type Ctx, type Operation } from './context.js';
import { Deadline } from './deadline.js';
import { DeadlineExceededError, invalidOption, TimeoutError } from './errors.js';
import { type Disposer, Emitter, type Listener } from './events.js';
import { defaultResolution, FixedDelayQueue, type QueuedTimer } from './fixed-delay-queue.js';
import { deferred, isThenable, next, PolicyBase, type PolicyDescription, type Settler } from './policy.js';

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
  /**
   * Precision of the shared timer, in ms. Calls under the policy's own limit
   * share one timer that ticks every `resolutionMs` while calls are
   * pending, so starting a call reads no clock; a call then times out
   * between `ms` and about `ms + 2 · resolutionMs` (never early). 0 = exact
   * (each call reads the clock, ~50 ns more). Default: 0 (exact) under 1 s,
   * else 0.5 % of `ms`, at most 5 ms. A tighter deadline is always exact.
   */
  readonly resolutionMs?: number;
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
class TimeoutCall extends AbortingCtx implements QueuedTimer, Settler {
  done = false;
  due = 0;
  resolve: ((value: unknown) => void) | undefined = undefined;
  reject: ((error: unknown) => void) | undefined = undefined;
  /** The timeout error, once the call timed out. */
  error: Error | undefined = undefined;
  /** Set only when the call's deadline (not the policy's limit) bounds it: that deadline and its own timer. */
  own: { readonly deadline: Deadline; timer: TimerHandle } | undefined = undefined;

  constructor(
    parent: Ctx,
    /** The limit in ms: the policy's, or what was left of the deadline when that was tighter. */
    readonly limitMs: number,
    readonly policy: TimeoutPolicy,
  ) {
    super(parent, parent.attempt);
  }

  get timedOut(): boolean {
    return this.error !== undefined;
  }

  /** The deadline inner calls see: the caller's, narrowed to this call's limit. */
  override get deadline(): Deadline | undefined {
    if (this.own !== undefined) return this.own.deadline;
    if (this.limitMs === Number.POSITIVE_INFINITY) return this.parent.deadline;
    const policy = this.policy;
    return Deadline.at(policy.startOf(this) + this.limitMs, policy.clock).min(this.parent.deadline);
  }

  settle(): void {
    if (!this.done) {
      this.done = true;
      this.policy.running--;
    }
    this.release();
    if (this.own !== undefined) this.own.deadline.clock.clearTimeout(this.own.timer);
  }

  fire(): void {
    if (this.done) return;
    this.done = true;
    this.policy.running--;
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
  /** Calls running now. @internal */
  running = 0;
  /** Resolution of the shared timer, in ms (0: exact). */
  readonly resolutionMs: number;

  constructor(ms: number, options: TimeoutOptions = {}) {
    super();
    if (!(ms > 0)) throw invalidOption('timeout', 'ms', `must be > 0 (Infinity: deadline only), got ${ms}`);
    this.ms = ms;
    this.strategy = options.strategy ?? 'aggressive';
    this.name = options.name ?? 'operation';
    this.clock = options.clock ?? systemClock;
    this.resolutionMs = options.resolutionMs ?? defaultResolution(ms);
    if (!(this.resolutionMs >= 0) || this.resolutionMs > ms)
      throw invalidOption('timeout', 'resolutionMs', `must be in [0, ms], got ${this.resolutionMs}`);
    this.queue = new FixedDelayQueue(this.clock, ms, this.resolutionMs);
  }

  /** @internal */
  run(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown> {
    this.calls++;
    const deadline = ctx.deadline;
    let call: TimeoutCall;
    if (deadline === undefined) {
      call = new TimeoutCall(ctx, this.ms, this);
      if (this.ms !== Number.POSITIVE_INFINITY) this.queue.add(call);
    } else {
      // A deadline applies: the tighter of it and our limit (a clock read only on this path).
      const left = deadline.at - deadline.clock.now();
      if (left <= 0) {
        this.timeouts++;
        return Promise.reject(
          new DeadlineExceededError(`${this.name}: deadline exceeded before the call`, this.name),
        );
      }
      if (left < this.ms) {
        const c = new TimeoutCall(ctx, left, this);
        c.own = { deadline, timer: deadline.clock.setTimeout(() => c.fire(), left, { unref: true }) };
        call = c;
      } else {
        call = new TimeoutCall(ctx, this.ms, this);
        this.queue.add(call);
      }
    }
    this.running++;
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

  /** A clock time no later than when `call` started. @internal */
  startOf(call: TimeoutCall): number {
    return this.ms === Number.POSITIVE_INFINITY ? this.clock.now() : this.queue.startedNoEarlierThan(call);
  }

  /** Builds the error for an expired call and counts it. @internal */
  timedOut(call: TimeoutCall): Error {
    this.timeouts++;
    if (this.timeoutEvents.active) {
      this.timeoutEvents.emit({
        policy: this.name,
        timeoutMs: call.limitMs,
        byDeadline: call.own !== undefined,
      });
    }
    return call.own !== undefined
      ? new DeadlineExceededError(`${this.name}: deadline exceeded after ${call.limitMs} ms`, this.name)
      : new TimeoutError(this.name, call.limitMs);
  }

  /** Listens for timed-out calls. */
  onTimeout(listener: Listener<TimeoutEvent>): Disposer {
    return this.timeoutEvents.on(listener);
  }

  describe(): PolicyDescription {
    return {
      kind: 'timeout',
      name: this.name,
      options: { ms: this.ms, strategy: this.strategy, resolutionMs: this.resolutionMs },
    };
  }

  metrics(): TimeoutMetrics {
    return {
      kind: 'timeout',
      name: this.name,
      calls: this.calls,
      timeouts: this.timeouts,
      pending: this.running,
    };
  }
}

/** Aggressive: settles with the operation or with the timeout, whichever is first. */
function race(call: TimeoutCall, result: PromiseLike<unknown>): Promise<unknown> {
  if (call.timedOut) {
    // Timed out before the operation even returned (a synchronous clock jump): drop its late outcome.
    result.then(undefined, () => {});
    return Promise.reject(call.error);
  }
  const promise = deferred(call);
  result.then(
    (value) => {
      if (call.done) return;
      call.settle();
      call.resolve?.(value);
    },
    (error: unknown) => {
      if (call.done) return;
      call.settle();
      call.reject?.(error);
    },
  );
  return promise;
}

/** Cooperative: waits for the operation; a failure after the limit becomes the timeout error. */
function cooperate(call: TimeoutCall, result: PromiseLike<unknown>): Promise<unknown> {
  return Promise.resolve(result).then(
    (value) => {
      call.settle();
      return value;
    },
    (error: unknown) => {
      call.settle();
      if (!call.timedOut || call.error === undefined) throw error;
      if (error !== call.error) {
        // The operation stopped because of our abort: report the timeout, keep its error as cause.
        Object.defineProperty(call.error, 'cause', { value: error, configurable: true, writable: true });
      }
      throw call.error;
    },
  );
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
