import { isRetryable } from '@sluice/errors';
import { type Backoff, exponential } from './backoff.js';
import { type Clock, systemClock } from './clock.js';
import { AttemptCtx, type Ctx, type Operation } from './context.js';
import { invalidOption } from './errors.js';
import { type Disposer, Emitter, type Listener } from './events.js';
import { FastFail, isThenable, next, PolicyBase, type PolicyDescription } from './policy.js';
import type { RetryBudget } from './retry-budget.js';
import { sleep } from './sleep.js';

/** Options of {@link retry}. */
export interface RetryOptions {
  /**
   * Total attempts, the first call included: `maxAttempts: 3` means one call
   * and at most two retries. Default 3. `1` disables retrying.
   */
  readonly maxAttempts?: number;
  /** Delay before each retry. Default `exponential()` (100 ms base, ×2, 10 s cap, full jitter). */
  readonly backoff?: Backoff;
  /**
   * Whether an error is worth another attempt. Default `isRetryable` from
   * `@sluice/errors`: a `SluiceError`'s own `retryable` flag (`unavailable`,
   * `deadline_exceeded`, `resource_exhausted` unless the error says
   * otherwise); any other error is not retried.
   */
  readonly retryOn?: (error: unknown, attempt: number) => boolean;
  /**
   * Whether a value the operation returned should be retried (a 503 response
   * object, say). Default: never. When attempts run out the last value is returned.
   */
  readonly retryOnResult?: (value: unknown, attempt: number) => boolean;
  /** A budget shared by every call to the same downstream; no budget by default. */
  readonly budget?: RetryBudget;
  /**
   * A server's `retryAfterMs` (HTTP `Retry-After`, gRPC pushback) replaces
   * the backoff delay; when it asks for longer than this, the retry gives up
   * at once instead. Milliseconds, default 30 000.
   */
  readonly maxRetryAfterMs?: number;
  /** Name in events, metrics and `describe()`. Default `'retry'`. */
  readonly name?: string;
  /** Default {@link systemClock}. */
  readonly clock?: Clock;
}

/** Emitted before each retry's sleep. */
export interface RetryEvent {
  readonly policy: string;
  /** The attempt that failed (1 = the first call). */
  readonly attempt: number;
  /** How long the retry waits before the next attempt, in ms. */
  readonly delayMs: number;
  /** The error that caused the retry (absent when a result was retried). */
  readonly error?: unknown;
  /** The result that caused the retry, when `retryOnResult` accepted one. */
  readonly result?: unknown;
}

/** Why a retry policy stopped retrying a failing call. */
export type GiveUpReason =
  /** `maxAttempts` reached. */
  | 'max-attempts'
  /** `retryOn` refused the error. */
  | 'not-retryable'
  /** The retry budget had no token. */
  | 'budget-exhausted'
  /** The next delay would end after the call's deadline. */
  | 'deadline'
  /** The server asked to wait longer than `maxRetryAfterMs`. */
  | 'retry-after-too-long'
  /** The caller's signal aborted (before or during the sleep). */
  | 'aborted';

/** Emitted when a failing call is returned to the caller. */
export interface GiveUpEvent {
  readonly policy: string;
  readonly reason: GiveUpReason;
  /** Attempts made. */
  readonly attempts: number;
  /** The last error (absent when the last result is returned). */
  readonly error?: unknown;
  readonly result?: unknown;
}

/** A snapshot of a {@link RetryPolicy}. */
export interface RetryMetrics {
  readonly kind: 'retry';
  readonly name: string;
  /** Calls started. */
  readonly calls: number;
  /** Calls that ended with a value (a retried result included). */
  readonly successes: number;
  /** Calls that ended with an error. */
  readonly failures: number;
  /** Retries made (attempts after the first). */
  readonly retries: number;
  /** Retries refused by the budget. */
  readonly budgetRejections: number;
  /** The budget's tokens, when there is one. */
  readonly budgetTokens?: number;
}

const NOT_RETRYING = Symbol('not-retrying');
const NO_FAILURE = Symbol('no-failure');

/**
 * Retries a failed operation after a backoff. See {@link retry}.
 */
export class RetryPolicy extends PolicyBase {
  readonly name: string;
  private readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private readonly retryOn: (error: unknown, attempt: number) => boolean;
  private readonly retryOnResult: ((value: unknown, attempt: number) => boolean) | undefined;
  private readonly budget: RetryBudget | undefined;
  private readonly maxRetryAfterMs: number;
  private readonly clock: Clock;
  private readonly retryEvents = new Emitter<RetryEvent>();
  private readonly giveUpEvents = new Emitter<GiveUpEvent>();
  private calls = 0;
  private successes = 0;
  private failures = 0;
  private retries = 0;
  private budgetRejections = 0;

  constructor(options: RetryOptions = {}) {
    super();
    this.name = options.name ?? 'retry';
    this.maxAttempts = options.maxAttempts ?? 3;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1)
      throw invalidOption('retry', 'maxAttempts', `must be an integer >= 1, got ${this.maxAttempts}`);
    this.backoff = options.backoff ?? exponential();
    this.retryOn = options.retryOn ?? isRetryable;
    this.retryOnResult = options.retryOnResult;
    this.budget = options.budget;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.clock = options.clock ?? systemClock;
  }

  /** @internal */
  run(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown> {
    this.calls++;
    this.budget?.deposit();
    const actx: Ctx = ctx.attempt === 1 ? ctx : new AttemptCtx(ctx, 1);
    // Results to inspect, or inner fast-fails to expect: the general loop from the start.
    if (this.retryOnResult !== undefined || ctx.outcome)
      return this.loop(fn, chain, index, ctx, actx, NO_FAILURE);
    // The common case: the first attempt succeeds. Its success handler is shared
    // by all calls; only a failure builds per-call state (the loop).
    let result: unknown;
    try {
      result = next(fn, chain, index, actx);
    } catch (error) {
      return this.loop(fn, chain, index, ctx, actx, error);
    }
    if (!isThenable(result)) {
      this.successes++;
      return Promise.resolve(result);
    }
    return Promise.resolve(result).then(this.firstSucceeded, (error: unknown) =>
      this.loop(fn, chain, index, ctx, actx, error),
    );
  }

  private readonly firstSucceeded = (value: unknown): unknown => {
    this.successes++;
    return value;
  };

  /** The retry loop; `firstFailure` is the first attempt's error when it already ran (else {@link NO_FAILURE}). */
  private async loop(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
    firstCtx: Ctx,
    firstFailure: unknown,
  ): Promise<unknown> {
    let attempt = 1;
    let previousDelay: number | undefined;
    let actx: Ctx = firstCtx;
    let pending = firstFailure;
    for (;;) {
      let error: unknown;
      let result: unknown = NOT_RETRYING;
      // An inner policy's rejection on the outcome path, returned as is if we give up on it.
      let fast: FastFail | undefined;
      try {
        if (pending !== NO_FAILURE) {
          const failure = pending;
          pending = NO_FAILURE;
          throw failure;
        }
        const value = await next(fn, chain, index, actx);
        if (value instanceof FastFail) {
          fast = value;
          error = value.error;
        } else if (this.retryOnResult === undefined || !this.retryOnResult(value, attempt)) {
          this.successes++;
          return value;
        } else result = value;
      } catch (e) {
        error = e;
      }
      const isResult = result !== NOT_RETRYING;
      const reason = this.refusal(error, isResult, attempt, ctx);
      let delay = 0;
      if (reason === undefined) {
        const retryAfter = isResult ? undefined : retryAfterOf(error);
        delay = retryAfter ?? this.backoff.delayMs(attempt, previousDelay);
        const stop =
          retryAfter !== undefined && retryAfter > this.maxRetryAfterMs
            ? 'retry-after-too-long'
            : ctx.deadline !== undefined && delay >= ctx.deadline.remaining()
              ? 'deadline'
              : this.budget !== undefined && !this.budget.tryWithdraw()
                ? 'budget-exhausted'
                : undefined;
        if (stop === 'budget-exhausted') this.budgetRejections++;
        if (stop !== undefined) return this.giveUp(stop, attempt, error, result, isResult, fast);
      } else {
        return this.giveUp(reason, attempt, error, result, isResult, fast);
      }
      if (this.retryEvents.active) {
        this.retryEvents.emit({
          policy: this.name,
          attempt,
          delayMs: delay,
          ...(isResult ? { result } : { error }),
        });
      }
      try {
        await sleep(this.clock, delay, ctx.abortable());
      } catch (abort) {
        // The caller gave up while we slept: report the abort, not the old failure.
        return this.giveUp('aborted', attempt, abort, NOT_RETRYING, false);
      }
      previousDelay = delay;
      this.retries++;
      attempt++;
      actx = new AttemptCtx(ctx, attempt);
    }
  }

  /** Why not to retry at all, before any delay is computed. */
  private refusal(error: unknown, isResult: boolean, attempt: number, ctx: Ctx): GiveUpReason | undefined {
    if (ctx.abortable()?.aborted) return 'aborted';
    if (!isResult && !this.retryOn(error, attempt)) return 'not-retryable';
    if (attempt >= this.maxAttempts) return 'max-attempts';
    return undefined;
  }

  private giveUp(
    reason: GiveUpReason,
    attempts: number,
    error: unknown,
    result: unknown,
    isResult: boolean,
    fast?: FastFail,
  ): unknown {
    if (this.giveUpEvents.active) {
      this.giveUpEvents.emit({ policy: this.name, reason, attempts, ...(isResult ? { result } : { error }) });
    }
    if (isResult) {
      this.successes++;
      return result;
    }
    this.failures++;
    if (fast !== undefined) return fast;
    throw error;
  }

  /** Listens for retries (emitted before the backoff sleep). */
  onRetry(listener: Listener<RetryEvent>): Disposer {
    return this.retryEvents.on(listener);
  }

  /** Listens for calls returned failing, with the reason retrying stopped. */
  onGiveUp(listener: Listener<GiveUpEvent>): Disposer {
    return this.giveUpEvents.on(listener);
  }

  describe(): PolicyDescription {
    return {
      kind: 'retry',
      name: this.name,
      options: {
        maxAttempts: this.maxAttempts,
        backoff: this.backoff.describe(),
        maxRetryAfterMs: this.maxRetryAfterMs,
        retryOnResult: this.retryOnResult !== undefined,
        ...(this.budget ? { budget: this.budget.describe() } : {}),
      },
    };
  }

  metrics(): RetryMetrics {
    return {
      kind: 'retry',
      name: this.name,
      calls: this.calls,
      successes: this.successes,
      failures: this.failures,
      retries: this.retries,
      budgetRejections: this.budgetRejections,
      ...(this.budget ? { budgetTokens: this.budget.tokens } : {}),
    };
  }
}

/** A non-negative `retryAfterMs` carried by an error, if any. */
function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const ms = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' && ms >= 0 && Number.isFinite(ms) ? ms : undefined;
}

/**
 * Retries a failing operation: at most `maxAttempts` attempts in all, with a
 * backoff between them, only for errors `retryOn` accepts (by default the
 * retryable Sluice errors), honouring a server's `retryAfterMs`, within the
 * call's deadline and an optional shared {@link RetryBudget}. The sleep ends
 * at once when the caller's signal aborts.
 *
 * @example
 * ```ts
 * const policy = retry({ maxAttempts: 3, backoff: exponential({ baseMs: 100, jitter: 'full' }) });
 * const stock = await policy.execute(({ signal }) => inventory.check('sku-1', { signal }));
 * ```
 */
export function retry(options: RetryOptions = {}): RetryPolicy {
  return new RetryPolicy(options);
}
