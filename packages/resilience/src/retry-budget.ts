import { type Clock, systemClock } from './clock.js';
import { invalidOption } from './errors.js';
import { type Disposer, Emitter, type Listener } from './events.js';

/** Options of {@link retryBudget}. */
export interface RetryBudgetOptions {
  /**
   * Share of the request rate that retries may add: every call deposits
   * `ratio` tokens and every retry costs one. Default 0.2 (retries add at
   * most 20 % to the load, as Finagle and Envoy default to).
   */
  readonly ratio?: number;
  /**
   * Retries per second always allowed, however little traffic there is (so a
   * quiet client can still retry). Refilled continuously; at most one
   * second's worth is kept. Default 10.
   */
  readonly minRetriesPerSecond?: number;
  /**
   * Most tokens the `ratio` deposits can bank (bounds the burst of retries
   * after a long healthy period). Default 100.
   */
  readonly maxTokens?: number;
  /** Name in events and metrics. Default `'retry-budget'`. */
  readonly name?: string;
  /** Clock for the per-second floor. Default {@link systemClock}. */
  readonly clock?: Clock;
}

/** Emitted when a retry was refused because the budget was empty. */
export interface BudgetExhaustedEvent {
  /** The budget's name. */
  readonly budget: string;
  /** Tokens left (below 1). */
  readonly tokens: number;
}

/** A snapshot of a {@link RetryBudget}. */
export interface RetryBudgetMetrics {
  readonly kind: 'retry-budget';
  readonly name: string;
  /** Tokens available now (each pays one retry). */
  readonly tokens: number;
  /** Calls that deposited (first attempts). */
  readonly deposits: number;
  /** Retries the budget paid for. */
  readonly withdrawals: number;
  /** Retries refused for want of a token. */
  readonly rejections: number;
}

/**
 * A token bucket shared by every call to one downstream, so that retries can
 * add at most a set share of the request rate: when the downstream browns
 * out, clients back off instead of multiplying its load. Pass the same
 * budget to every retry policy calling that downstream.
 */
export class RetryBudget {
  readonly name: string;
  private readonly ratio: number;
  private readonly floorRate: number;
  private readonly maxTokens: number;
  private readonly clock: Clock;
  private banked = 0;
  private floor: number;
  private floorAt: number;
  private deposits = 0;
  private withdrawals = 0;
  private rejections = 0;
  private readonly exhausted = new Emitter<BudgetExhaustedEvent>();

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = options.ratio ?? 0.2;
    this.floorRate = options.minRetriesPerSecond ?? 10;
    this.maxTokens = options.maxTokens ?? 100;
    this.name = options.name ?? 'retry-budget';
    this.clock = options.clock ?? systemClock;
    if (!(this.ratio >= 0)) throw invalidOption('retryBudget', 'ratio', `must be >= 0, got ${this.ratio}`);
    if (!(this.floorRate >= 0))
      throw invalidOption('retryBudget', 'minRetriesPerSecond', `must be >= 0, got ${this.floorRate}`);
    if (!(this.maxTokens >= 0))
      throw invalidOption('retryBudget', 'maxTokens', `must be >= 0, got ${this.maxTokens}`);
    this.floor = this.floorRate;
    this.floorAt = this.clock.now();
  }

  /** Records a call (its first attempt): adds `ratio` tokens. No clock read. */
  deposit(): void {
    this.deposits++;
    const b = this.banked + this.ratio;
    this.banked = Math.min(b, this.maxTokens);
  }

  /** Takes one token for a retry; false (and an `exhausted` event) when none is left. */
  tryWithdraw(): boolean {
    if (this.banked >= 1) {
      this.banked -= 1;
      this.withdrawals++;
      return true;
    }
    this.refill();
    if (this.floor >= 1) {
      this.floor -= 1;
      this.withdrawals++;
      return true;
    }
    this.rejections++;
    if (this.exhausted.active) this.exhausted.emit({ budget: this.name, tokens: this.banked + this.floor });
    return false;
  }

  /** Tokens available now. */
  get tokens(): number {
    this.refill();
    return this.banked + this.floor;
  }

  /** Listens for refused retries. */
  onExhausted(listener: Listener<BudgetExhaustedEvent>): Disposer {
    return this.exhausted.on(listener);
  }

  metrics(): RetryBudgetMetrics {
    return {
      kind: 'retry-budget',
      name: this.name,
      tokens: this.tokens,
      deposits: this.deposits,
      withdrawals: this.withdrawals,
      rejections: this.rejections,
    };
  }

  /** Plain-JSON settings. */
  describe(): Readonly<Record<string, unknown>> {
    return {
      name: this.name,
      ratio: this.ratio,
      minRetriesPerSecond: this.floorRate,
      maxTokens: this.maxTokens,
    };
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.floorAt;
    this.floorAt = now;
    if (elapsed > 0) this.floor = Math.min(this.floorRate, this.floor + (elapsed / 1000) * this.floorRate);
  }
}

/**
 * A retry budget to share among the retry policies of one downstream.
 *
 * @example
 * ```ts
 * const budget = retryBudget({ ratio: 0.2, minRetriesPerSecond: 10 });
 * const inventoryRetry = retry({ maxAttempts: 3, budget });
 * ```
 */
export function retryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  return new RetryBudget(options);
}
