import { isSluiceError } from '@sluice/errors';
import type { Ctx, ExecutionContext, Operation } from './context.js';
import { invalidOption } from './errors.js';
import { type Disposer, Emitter, type Listener } from './events.js';
import { FastFail, isThenable, next, PolicyBase, type PolicyDescription } from './policy.js';

/** Options of {@link fallback}: a `value` or a `handler`, plus which errors to cover. */
export type FallbackOptions<R> = (
  | {
      /** Returned instead of the error. */
      readonly value: R;
    }
  | {
      /**
       * Computes what to return instead of the error (a cached copy, a
       * degraded answer). May be async; if it throws, the call rejects with
       * that error.
       */
      readonly handler: (error: unknown, context: ExecutionContext) => R | PromiseLike<R>;
    }
) & {
  /**
   * Which errors to replace. Default: every error except a `cancelled`
   * `SluiceError` (the caller gave up: nobody wants the fallback).
   */
  readonly fallbackOn?: (error: unknown) => boolean;
  /** Name in events, metrics and `describe()`. Default `'fallback'`. */
  readonly name?: string;
};

/** Emitted when the fallback replaces an error. */
export interface FallbackEvent {
  readonly policy: string;
  /** The error that was replaced. */
  readonly error: unknown;
}

/** A snapshot of a {@link FallbackPolicy}. */
export interface FallbackMetrics {
  readonly kind: 'fallback';
  readonly name: string;
  readonly calls: number;
  /** Calls answered by the fallback. */
  readonly fallbacks: number;
}

const notCancelled = (error: unknown): boolean => !(isSluiceError(error) && error.code === 'cancelled');

/** Replaces chosen errors with a value. See {@link fallback}. */
export class FallbackPolicy<R> extends PolicyBase<R> {
  readonly name: string;
  private readonly handler: (error: unknown, context: ExecutionContext) => R | PromiseLike<R>;
  private readonly hasValue: boolean;
  private readonly fallbackOn: (error: unknown) => boolean;
  private readonly fallbackEvents = new Emitter<FallbackEvent>();
  private calls = 0;
  private fallbacks = 0;

  constructor(options: FallbackOptions<R>) {
    super();
    this.name = options.name ?? 'fallback';
    this.fallbackOn = options.fallbackOn ?? notCancelled;
    if ('handler' in options) {
      if (typeof options.handler !== 'function')
        throw invalidOption('fallback', 'handler', 'must be a function');
      this.handler = options.handler;
      this.hasValue = false;
    } else if ('value' in options) {
      const value = options.value;
      this.handler = () => value;
      this.hasValue = true;
    } else {
      throw invalidOption('fallback', 'value', 'or handler must be given');
    }
  }

  /** @internal */
  run(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown> {
    this.calls++;
    let result: unknown;
    try {
      result = next(fn, chain, index, ctx);
    } catch (error) {
      return this.recover(error, ctx);
    }
    if (!isThenable(result)) return Promise.resolve(result);
    // On the outcome path a value may be an inner fast-fail; otherwise values pass as they are.
    return Promise.resolve(result).then(
      ctx.outcome ? (v) => this.checked(v, ctx) : undefined,
      (error: unknown) => this.recover(error, ctx),
    );
  }

  private checked(value: unknown, ctx: Ctx): unknown {
    return value instanceof FastFail && this.fallbackOn(value.error)
      ? this.substitute(value.error, ctx)
      : value;
  }

  private recover(error: unknown, ctx: Ctx): Promise<unknown> {
    if (!this.fallbackOn(error)) return Promise.reject(error);
    return this.substitute(error, ctx);
  }

  private async substitute(error: unknown, ctx: Ctx): Promise<unknown> {
    this.fallbacks++;
    if (this.fallbackEvents.active) this.fallbackEvents.emit({ policy: this.name, error });
    return this.handler(error, ctx);
  }

  /** Listens for errors replaced by the fallback. */
  onFallback(listener: Listener<FallbackEvent>): Disposer {
    return this.fallbackEvents.on(listener);
  }

  describe(): PolicyDescription {
    return { kind: 'fallback', name: this.name, options: { with: this.hasValue ? 'value' : 'handler' } };
  }

  metrics(): FallbackMetrics {
    return { kind: 'fallback', name: this.name, calls: this.calls, fallbacks: this.fallbacks };
  }
}

/**
 * Answers with a substitute when the operation fails: a fixed `value` or
 * what `handler(error)` returns — a cached copy, an empty list, a "stock
 * unknown" answer — so a failing dependency degrades the response instead
 * of failing it. `fallbackOn` chooses the errors (default: all but the
 * caller's own cancellation). Put it outermost, so it also covers
 * rejections by the breaker and bulkhead. The pipeline's type becomes
 * `T | R`.
 *
 * @example
 * ```ts
 * const stockOrUnknown = pipeline(fallback({ value: { available: null } }), circuitBreaker(), timeout(500));
 * const stock = await stockOrUnknown.execute(() => inventory.check('sku-1')); // never rejects for a down inventory
 * ```
 */
export function fallback<R>(options: FallbackOptions<R>): FallbackPolicy<R> {
  return new FallbackPolicy(options);
}
