import { isRetryable } from '@sluice/errors';
import { type Clock, systemClock } from './clock.js';
import { AbortingCtx, type Ctx, type Operation } from './context.js';
import { CancelledError, frozen, invalidOption } from './errors.js';
import { type Disposer, Emitter, type Listener } from './events.js';
import { defaultResolution, FixedDelayQueue, type QueuedTimer } from './fixed-delay-queue.js';
import {
  deferred,
  FastFail,
  isThenable,
  next,
  PolicyBase,
  type PolicyDescription,
  type Settler,
} from './policy.js';

/** Options of {@link hedging}. */
export interface HedgingOptions {
  /**
   * How long to wait for an attempt before sending the next one, in ms
   * (pick about the downstream's p95 latency). Required, >= 0.
   */
  readonly delayMs: number;
  /** Extra attempts allowed beyond the first (so at most `1 + maxHedgedAttempts` run). Default 1. */
  readonly maxHedgedAttempts?: number;
  /**
   * Whether a failed attempt should be hedged at once (without waiting for
   * the delay) while attempts remain. An error it refuses is the answer:
   * the call fails with it and the other attempts are aborted. Default
   * `isRetryable` from `@sluice/errors`. Only hedge idempotent operations.
   */
  readonly hedgeOn?: (error: unknown) => boolean;
  /**
   * Precision of the shared hedge timer, in ms: a hedge is sent between
   * `delayMs` and about `delayMs + 2 · resolutionMs` (never early); 0 = exact
   * (a clock read per call). Default: 0 (exact) under 1 s, else 0.5 % of `delayMs`, at most 5 ms.
   */
  readonly resolutionMs?: number;
  /** Name in events, metrics and `describe()`. Default `'hedging'`. */
  readonly name?: string;
  /** Default {@link systemClock}. */
  readonly clock?: Clock;
}

/** Emitted when a hedged attempt is sent. */
export interface HedgeEvent {
  readonly policy: string;
  /** The new attempt's number (2 = the first hedge). */
  readonly attempt: number;
  /** `delay`: the earlier attempts were too slow; `error`: one failed with a hedgeable error. */
  readonly trigger: 'delay' | 'error';
}

/** A snapshot of a {@link HedgingPolicy}. */
export interface HedgingMetrics {
  readonly kind: 'hedging';
  readonly name: string;
  readonly calls: number;
  /** Hedged attempts sent (beyond the first). */
  readonly hedges: number;
  /** Calls won by a hedged attempt rather than the first. */
  readonly hedgeWins: number;
  /** Calls that failed (every attempt failed, or one failed with an error not hedged). */
  readonly failures: number;
}

/** The timer of a later hedge (the first hedge's timer is the call itself). */
class HedgeTimer implements QueuedTimer {
  done = false;
  due = 0;
  constructor(private readonly call: HedgeCall) {}
  fire(): void {
    this.done = true;
    this.call.hedge('delay');
  }
}

/**
 * One call under a hedging policy. To keep the common case (the first
 * attempt answers before the delay) to one object, the call is also its
 * first attempt's context and its first hedge timer.
 */
class HedgeCall extends AbortingCtx implements QueuedTimer, Settler {
  // As the first hedge timer:
  done = false;
  due = 0;
  resolve: ((value: unknown) => void) | undefined = undefined;
  reject: ((error: unknown) => void) | undefined = undefined;
  /** Attempts after the first (their contexts). */
  private others: AbortingCtx[] | undefined;
  private launched = 0;
  private failed = 0;
  private settled = false;
  private timer: QueuedTimer | undefined;

  constructor(
    parent: Ctx,
    private readonly policy: HedgingPolicy,
    private readonly fn: Operation<unknown>,
    private readonly chain: readonly PolicyBase<unknown>[],
    private readonly index: number,
  ) {
    super(parent, 1);
  }

  /** The first hedge timer fired. */
  fire(): void {
    this.done = true;
    this.hedge('delay');
  }

  /** Sends the next attempt (the first when none ran yet). */
  launch(): void {
    const policy = this.policy;
    this.launched++;
    let attempt: AbortingCtx;
    if (this.launched === 1) attempt = this;
    else {
      attempt = new AbortingCtx(this.parent, this.launched);
      if (this.others === undefined) this.others = [attempt];
      else this.others.push(attempt);
    }
    if (this.launched <= policy.maxHedgedAttempts) {
      this.timer = this.launched === 1 ? this : new HedgeTimer(this);
      policy.timers.add(this.timer);
    }
    let result: unknown;
    try {
      result = next(this.fn, this.chain, this.index, attempt);
    } catch (error) {
      this.failure(attempt, error, undefined);
      return;
    }
    if (!isThenable(result)) {
      this.value(attempt, result);
      return;
    }
    result.then(
      (value) => this.value(attempt, value),
      (error: unknown) => this.failure(attempt, error, undefined),
    );
  }

  /** Sends a hedged attempt now, if the call is open, attempts remain and the caller still waits. */
  hedge(trigger: HedgeEvent['trigger']): boolean {
    if (this.settled || this.launched > this.policy.maxHedgedAttempts) return false;
    if (this.parent.abortable()?.aborted) return false; // the caller gave up: the running attempts see it
    this.policy.hedged(this.launched + 1, trigger);
    this.launch();
    return true;
  }

  private value(attempt: AbortingCtx, value: unknown): void {
    if (value instanceof FastFail) {
      this.failure(attempt, value.error, value);
      return;
    }
    if (this.settled) return;
    this.finish(attempt);
    if (attempt !== this) this.policy.won();
    this.resolve?.(value);
  }

  private failure(attempt: AbortingCtx, error: unknown, fast: FastFail | undefined): void {
    if (this.settled) return;
    this.failed++;
    const hedgeable = this.policy.hedgeOn(error);
    if (hedgeable) {
      if (this.timer !== undefined) this.timer.done = true;
      if (this.hedge('error')) return;
    }
    // Not hedgeable: that is the answer. Hedgeable but none left: fail when the last one did.
    if (hedgeable && this.failed < this.launched) return;
    this.finish(attempt);
    this.policy.failed();
    if (fast !== undefined) this.resolve?.(fast);
    else this.reject?.(error);
  }

  /** Settles the call: no more hedges, and every other attempt's signal aborts. */
  private finish(winner: AbortingCtx): void {
    this.settled = true;
    if (this.timer !== undefined) this.timer.done = true;
    if (this.others === undefined) {
      this.release(); // the first attempt was the only one
      return;
    }
    const lost = this.policy.lost;
    if (winner === this) this.release();
    else this.abort(lost);
    for (const attempt of this.others) {
      if (attempt === winner) attempt.release();
      else attempt.abort(lost);
    }
  }
}

/** Sends extra attempts when the first is slow. See {@link hedging}. */
export class HedgingPolicy extends PolicyBase {
  readonly name: string;
  /** @internal */
  readonly delayMs: number;
  /** @internal */
  readonly maxHedgedAttempts: number;
  /** @internal */
  readonly hedgeOn: (error: unknown) => boolean;
  /** @internal */
  readonly clock: Clock;
  /** Resolution of the shared hedge timer, in ms (0: exact). */
  readonly resolutionMs: number;
  /** @internal Every call's hedge timer; one shared clock timer (the delay is the same for all). */
  readonly timers: FixedDelayQueue<QueuedTimer>;
  /** @internal The reason the losers' signals abort with (shared: aborting builds no error). */
  readonly lost: CancelledError = frozen(new CancelledError(undefined, 'another hedged attempt won'));
  private readonly hedgeEvents = new Emitter<HedgeEvent>();
  private calls = 0;
  private hedges = 0;
  private hedgeWins = 0;
  private failures = 0;

  constructor(options: HedgingOptions) {
    super();
    this.name = options.name ?? 'hedging';
    this.delayMs = options.delayMs;
    if (!(this.delayMs >= 0) || !Number.isFinite(this.delayMs))
      throw invalidOption('hedging', 'delayMs', `must be a finite number >= 0, got ${this.delayMs}`);
    this.maxHedgedAttempts = options.maxHedgedAttempts ?? 1;
    if (!Number.isInteger(this.maxHedgedAttempts) || this.maxHedgedAttempts < 1)
      throw invalidOption(
        'hedging',
        'maxHedgedAttempts',
        `must be an integer >= 1, got ${this.maxHedgedAttempts}`,
      );
    this.hedgeOn = options.hedgeOn ?? isRetryable;
    this.clock = options.clock ?? systemClock;
    const resolution = options.resolutionMs ?? defaultResolution(this.delayMs);
    if (!(resolution >= 0) || resolution > Math.max(this.delayMs, 0))
      throw invalidOption('hedging', 'resolutionMs', `must be in [0, delayMs], got ${resolution}`);
    this.resolutionMs = resolution;
    this.timers = new FixedDelayQueue(this.clock, this.delayMs, resolution);
  }

  /** @internal */
  run(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown> {
    this.calls++;
    const call = new HedgeCall(ctx, this, fn, chain, index);
    const promise = deferred(call);
    call.launch();
    return promise;
  }

  /** @internal */
  hedged(attempt: number, trigger: HedgeEvent['trigger']): void {
    this.hedges++;
    if (this.hedgeEvents.active) this.hedgeEvents.emit({ policy: this.name, attempt, trigger });
  }
  /** @internal */
  won(): void {
    this.hedgeWins++;
  }
  /** @internal */
  failed(): void {
    this.failures++;
  }

  /** Listens for hedged attempts being sent. */
  onHedge(listener: Listener<HedgeEvent>): Disposer {
    return this.hedgeEvents.on(listener);
  }

  describe(): PolicyDescription {
    return {
      kind: 'hedging',
      name: this.name,
      options: {
        delayMs: this.delayMs,
        maxHedgedAttempts: this.maxHedgedAttempts,
        resolutionMs: this.resolutionMs,
      },
    };
  }

  metrics(): HedgingMetrics {
    return {
      kind: 'hedging',
      name: this.name,
      calls: this.calls,
      hedges: this.hedges,
      hedgeWins: this.hedgeWins,
      failures: this.failures,
    };
  }
}

/**
 * Tail-latency insurance: when an attempt has not answered after `delayMs`,
 * sends another (up to `maxHedgedAttempts` more) without cancelling the
 * first; the first success wins and every other attempt's signal aborts
 * (with a `CancelledError`). A failed attempt with a hedgeable error is
 * hedged at once. Costs extra load on the downstream: hedge only idempotent
 * reads, and pair it with a retry budget.
 *
 * @example
 * ```ts
 * const fastRead = hedging({ delayMs: 50, maxHedgedAttempts: 1 });
 * const product = await fastRead.execute(({ signal }) => catalog.get('sku-1', { signal }));
 * ```
 */
export function hedging(options: HedgingOptions): HedgingPolicy {
  return new HedgingPolicy(options);
}
