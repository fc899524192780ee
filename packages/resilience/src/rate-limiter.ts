import { type Clock, systemClock } from './clock.js';
import type { Ctx, Operation } from './context.js';
import { frozen, invalidOption, RateLimitedError } from './errors.js';
import { type Disposer, Emitter, type Listener } from './events.js';
import { FastFail, next, PolicyBase, type PolicyDescription } from './policy.js';

/** Options of {@link rateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens added per second, continuously (one call takes one token). Must be > 0. */
  readonly ratePerSecond: number;
  /**
   * Most tokens the bucket holds: the largest burst allowed after a quiet
   * period. Default `max(1, ratePerSecond)` (one second's worth).
   */
  readonly burst?: number;
  /** Tokens in the bucket at creation. Default `burst` (a new limiter allows a full burst). */
  readonly initialTokens?: number;
  /** Name in errors, events and metrics. Default `'rate-limiter'`. */
  readonly name?: string;
  /** Default {@link systemClock}. */
  readonly clock?: Clock;
}

/** Emitted when the limiter turns a call away. */
export interface RateLimitedEvent {
  readonly limiter: string;
  /** Milliseconds until the next token. */
  readonly retryAfterMs: number;
}

/** A snapshot of a {@link RateLimiterPolicy}. */
export interface RateLimiterMetrics {
  readonly kind: 'rate-limiter';
  readonly name: string;
  /** Tokens available now (fractional). */
  readonly tokens: number;
  /** Calls admitted. */
  readonly admitted: number;
  /** Calls rejected. */
  readonly rejected: number;
}

/** Admits calls at a bounded rate. See {@link rateLimiter}. */
export class RateLimiterPolicy extends PolicyBase {
  readonly name: string;
  private readonly perMs: number;
  private readonly ratePerSecond: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private bucket: number;
  private refilledAt: number;
  private admitted = 0;
  private rejected = 0;
  private readonly rejectEvents = new Emitter<RateLimitedEvent>();
  private readonly rejection: FastFail;

  constructor(options: RateLimiterOptions) {
    super();
    this.name = options.name ?? 'rate-limiter';
    this.ratePerSecond = options.ratePerSecond;
    if (!(this.ratePerSecond > 0) || !Number.isFinite(this.ratePerSecond))
      throw invalidOption(
        'rateLimiter',
        'ratePerSecond',
        `must be a finite number > 0, got ${this.ratePerSecond}`,
      );
    this.burst = options.burst ?? Math.max(1, this.ratePerSecond);
    if (!(this.burst >= 1)) throw invalidOption('rateLimiter', 'burst', `must be >= 1, got ${this.burst}`);
    const initial = options.initialTokens ?? this.burst;
    if (!(initial >= 0 && initial <= this.burst))
      throw invalidOption('rateLimiter', 'initialTokens', `must be in [0, burst], got ${initial}`);
    this.perMs = this.ratePerSecond / 1000;
    this.clock = options.clock ?? systemClock;
    this.bucket = initial;
    this.refilledAt = this.clock.now();
    const error = new RateLimitedError(this.name, undefined);
    // The shared error of the outcome API reads its retryAfterMs live.
    Object.defineProperty(error, 'retryAfterMs', { enumerable: true, get: () => this.waitMs() });
    this.rejection = new FastFail(frozen(error));
  }

  /** @internal */
  run(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown> {
    this.refill();
    if (this.bucket >= 1) {
      this.bucket -= 1;
      this.admitted++;
      try {
        return Promise.resolve(next(fn, chain, index, ctx));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    this.rejected++;
    const retryAfterMs = this.waitMs();
    if (this.rejectEvents.active) this.rejectEvents.emit({ limiter: this.name, retryAfterMs });
    if (ctx.outcome) return Promise.resolve(this.rejection);
    return Promise.reject(new RateLimitedError(this.name, retryAfterMs));
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.refilledAt;
    this.refilledAt = now;
    if (elapsed > 0) {
      const b = this.bucket + elapsed * this.perMs;
      this.bucket = Math.min(b, this.burst);
    }
  }

  /** Milliseconds until one whole token is available (0 when one is). */
  private waitMs(): number {
    this.refill();
    return this.bucket >= 1 ? 0 : Math.ceil((1 - this.bucket) / this.perMs);
  }

  /** Tokens available now (fractional). */
  get tokens(): number {
    this.refill();
    return this.bucket;
  }

  /** Listens for rejected calls. */
  onRejected(listener: Listener<RateLimitedEvent>): Disposer {
    return this.rejectEvents.on(listener);
  }

  describe(): PolicyDescription {
    return {
      kind: 'rate-limiter',
      name: this.name,
      options: { ratePerSecond: this.ratePerSecond, burst: this.burst },
    };
  }

  metrics(): RateLimiterMetrics {
    return {
      kind: 'rate-limiter',
      name: this.name,
      tokens: this.tokens,
      admitted: this.admitted,
      rejected: this.rejected,
    };
  }
}

/**
 * A token bucket: admits calls at `ratePerSecond` on average with bursts of
 * up to `burst`, and rejects the rest at once with a `RateLimitedError`
 * whose `retryAfterMs` says when the next token arrives (it does not queue:
 * put a retry outside it to wait, which honours `retryAfterMs`). Use it to
 * stay within a downstream's quota, or to shed load on a server.
 *
 * @example
 * ```ts
 * const quota = rateLimiter({ ratePerSecond: 100, burst: 20 });
 * await quota.execute(() => partnerApi.lookup('sku-1'));
 * ```
 */
export function rateLimiter(options: RateLimiterOptions): RateLimiterPolicy {
  return new RateLimiterPolicy(options);
}
