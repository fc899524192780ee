import { type ErrorCode, isSluiceError } from '@sluice/errors';
import type { Backoff } from './backoff.js';
import {
  type BreakerStrategy,
  type BreakerWindow,
  type BreakReason,
  consecutive,
  type StrategyState,
} from './breaker-strategy.js';
import { type Clock, systemClock } from './clock.js';
import type { Ctx, Operation } from './context.js';
import { CircuitOpenError, frozen, invalidOption } from './errors.js';
import { type Disposer, Emitter, type Listener } from './events.js';
import { FastFail, isThenable, next, PolicyBase, type PolicyDescription } from './policy.js';

/**
 * - `closed`: calls run; outcomes feed the strategy.
 * - `open`: calls fail fast with `CircuitOpenError` until the break ends.
 * - `half-open`: at most `maxProbes` calls run at once as probes; the rest fail fast.
 * - `isolated`: opened by hand (`isolate()`); fails fast until `reset()`.
 */
export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Options of {@link circuitBreaker}. */
export interface CircuitBreakerOptions {
  /** When a closed breaker opens. Default `consecutive(5)`. */
  readonly strategy?: BreakerStrategy;
  /**
   * Counts calls slower than `thresholdMs` (success or not); the breaker
   * opens when their rate over the strategy's window reaches `rateThreshold`
   * (in (0, 1], default 1). Off by default (no clock is read per call then).
   */
  readonly slowCall?: { readonly thresholdMs: number; readonly rateThreshold?: number };
  /** How long the breaker stays open before it lets probes through, in ms. Default 10 000. */
  readonly breakDurationMs?: number;
  /**
   * Lets the break grow: the n-th opening in a row (without closing between)
   * lasts `breakBackoff.delayMs(n, previous)`. Overrides `breakDurationMs`.
   */
  readonly breakBackoff?: Backoff;
  /** The half-open state. */
  readonly halfOpen?: {
    /** Probes allowed to run at once; further calls are rejected (not queued). Default 1. */
    readonly maxProbes?: number;
    /** Probe successes needed to close. Default 1. Any probe failure re-opens. */
    readonly successThreshold?: number;
  };
  /**
   * Whether an error counts as a failure of the downstream. Errors it
   * refuses count as successes (the downstream answered). Default
   * {@link isBreakerFailure}: everything but the caller's own mistakes.
   */
  readonly isFailure?: (error: unknown) => boolean;
  /** State to start in (from a previous `toJSON()`), e.g. after a restart. Default closed. */
  readonly initialState?: CircuitBreakerSnapshot;
  /** Name in errors, events and metrics. Default `'circuit-breaker'`. */
  readonly name?: string;
  /** Default {@link systemClock}. */
  readonly clock?: Clock;
}

/** The serialisable state of a breaker (what `toJSON()` returns and `initialState` takes). */
export interface CircuitBreakerSnapshot {
  readonly state: CircuitState;
  /** For `open`: ms left until probes are let through. */
  readonly openRemainingMs?: number;
  /** Openings in a row so far (drives `breakBackoff`). */
  readonly consecutiveOpens?: number;
  /** The last break's length in ms. */
  readonly lastBreakMs?: number;
}

/** Emitted when the breaker opens (or is isolated). */
export interface BreakEvent {
  readonly breaker: string;
  readonly reason: BreakReason;
  /** How long it stays open, in ms (absent when isolated). */
  readonly durationMs?: number;
  /** The failure that tripped it, when one did. */
  readonly error?: unknown;
}

/** Emitted on every state change. */
export interface StateChangeEvent {
  readonly breaker: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
}

/** Emitted when the breaker rejects a call. */
export interface RejectionEvent {
  readonly breaker: string;
  readonly state: CircuitState;
  /** ms until a probe may pass (absent in half-open and isolated). */
  readonly retryAfterMs?: number;
}

/** A snapshot of a {@link CircuitBreakerPolicy}. */
export interface CircuitBreakerMetrics {
  readonly kind: 'circuit-breaker';
  readonly name: string;
  readonly state: CircuitState;
  /** Calls admitted. */
  readonly calls: number;
  readonly successes: number;
  /** Calls that failed (as `isFailure` judges). */
  readonly failures: number;
  /** Calls rejected without running. */
  readonly rejections: number;
  /** Calls slower than `slowCall.thresholdMs`. */
  readonly slowCalls: number;
  /** Times the breaker opened. */
  readonly opens: number;
  /** Probes running now (half-open). */
  readonly probesInFlight: number;
  /** The strategy's window now. */
  readonly window: BreakerWindow;
}

const STATES: ReadonlySet<string> = new Set<CircuitState>(['closed', 'open', 'half-open', 'isolated']);

const CALLER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'invalid_argument',
  'not_found',
  'already_exists',
  'permission_denied',
  'failed_precondition',
  'aborted',
  'out_of_range',
  'unauthenticated',
  'cancelled',
]);

/**
 * The default failure test of breakers: every error counts except a
 * `SluiceError` whose code says the caller was at fault or gave up
 * (`invalid_argument`, `not_found`, `already_exists`, `permission_denied`,
 * `failed_precondition`, `aborted`, `out_of_range`, `unauthenticated`,
 * `cancelled`): a healthy service answers those too.
 */
export function isBreakerFailure(error: unknown): boolean {
  return !(isSluiceError(error) && CALLER_CODES.has(error.code));
}

/** Fails fast while a downstream is failing. See {@link circuitBreaker}. */
export class CircuitBreakerPolicy extends PolicyBase {
  readonly name: string;
  private readonly clock: Clock;
  private readonly strategy: BreakerStrategy;
  private readonly window: StrategyState;
  private readonly slowMs: number;
  private readonly slowRate: number | undefined;
  private readonly timed: boolean;
  private readonly breakDurationMs: number;
  private readonly breakBackoff: Backoff | undefined;
  private readonly maxProbes: number;
  private readonly successThreshold: number;
  private readonly isFailure: (error: unknown) => boolean;
  private st: CircuitState = 'closed';
  /** Bumped on every transition: outcomes of calls admitted before it are not state evidence. */
  private generation = 0;
  private openUntil = 0;
  private consecutiveOpens = 0;
  private lastBreakMs: number | undefined;
  private probes = 0;
  private probeSuccesses = 0;
  private calls = 0;
  private successes = 0;
  private failures = 0;
  private rejections = 0;
  private slowCalls = 0;
  private opens = 0;
  private readonly breakEvents = new Emitter<BreakEvent>();
  private readonly stateEvents = new Emitter<StateChangeEvent>();
  private readonly halfOpenEvents = new Emitter<{ readonly breaker: string }>();
  private readonly closeEvents = new Emitter<{ readonly breaker: string }>();
  private readonly rejectEvents = new Emitter<RejectionEvent>();
  // One frozen rejection each for the outcome API; `retryAfterMs` is read live.
  private readonly openRejection: FastFail;
  private readonly isolatedRejection: FastFail;

  constructor(options: CircuitBreakerOptions = {}) {
    super();
    this.name = options.name ?? 'circuit-breaker';
    this.clock = options.clock ?? systemClock;
    this.strategy = options.strategy ?? consecutive(5);
    this.slowMs = options.slowCall?.thresholdMs ?? Number.POSITIVE_INFINITY;
    this.slowRate = options.slowCall ? (options.slowCall.rateThreshold ?? 1) : undefined;
    if (this.slowRate !== undefined && !(this.slowRate > 0 && this.slowRate <= 1))
      throw invalidOption(
        'circuitBreaker',
        'slowCall.rateThreshold',
        `must be in (0, 1], got ${this.slowRate}`,
      );
    this.timed = options.slowCall !== undefined || this.strategy.needsClock;
    this.window = this.strategy.create(this.slowRate);
    this.breakDurationMs = options.breakDurationMs ?? 10_000;
    if (!(this.breakDurationMs >= 0))
      throw invalidOption('circuitBreaker', 'breakDurationMs', `must be >= 0, got ${this.breakDurationMs}`);
    this.breakBackoff = options.breakBackoff;
    this.maxProbes = options.halfOpen?.maxProbes ?? 1;
    this.successThreshold = options.halfOpen?.successThreshold ?? 1;
    if (!Number.isInteger(this.maxProbes) || this.maxProbes < 1)
      throw invalidOption(
        'circuitBreaker',
        'halfOpen.maxProbes',
        `must be an integer >= 1, got ${this.maxProbes}`,
      );
    if (!Number.isInteger(this.successThreshold) || this.successThreshold < 1)
      throw invalidOption(
        'circuitBreaker',
        'halfOpen.successThreshold',
        `must be an integer >= 1, got ${this.successThreshold}`,
      );
    this.isFailure = options.isFailure ?? isBreakerFailure;
    this.openRejection = this.sharedRejection(false);
    this.isolatedRejection = this.sharedRejection(true);
    const initial = options.initialState;
    if (initial !== undefined) {
      if (!STATES.has(initial.state))
        throw invalidOption(
          'circuitBreaker',
          'initialState.state',
          `must be one of ${[...STATES].join(', ')}`,
        );
      if (initial.openRemainingMs !== undefined && !(initial.openRemainingMs >= 0))
        throw invalidOption('circuitBreaker', 'initialState.openRemainingMs', 'must be >= 0');
      this.st = initial.state;
      this.consecutiveOpens = initial.consecutiveOpens ?? 0;
      this.lastBreakMs = initial.lastBreakMs;
      if (initial.state === 'open') this.openUntil = this.clock.now() + (initial.openRemainingMs ?? 0);
    }
  }

  /** The state now (an open breaker whose break has ended reports, and becomes, half-open). */
  get state(): CircuitState {
    if (this.st === 'open' && this.clock.now() >= this.openUntil) this.transition('half-open');
    return this.st;
  }

  /** @internal */
  run(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown> {
    let probe = false;
    if (this.st !== 'closed') {
      if (this.st === 'open' && this.clock.now() >= this.openUntil) this.transition('half-open');
      if (this.st === 'half-open' && this.probes < this.maxProbes) {
        this.probes++;
        probe = true;
      } else {
        return this.reject(ctx);
      }
    }
    if (probe || this.timed) return this.guarded(fn, chain, index, ctx, probe);
    // Closed, untimed: the common case. The outcome handlers belong to the
    // current generation (rebuilt on each transition), so no closure is made per call.
    this.calls++;
    let result: unknown;
    try {
      result = next(fn, chain, index, ctx);
    } catch (error) {
      this.settle(this.isFailure(error), error, this.generation, false, 0);
      return Promise.reject(error);
    }
    const h = this.handlers;
    if (!isThenable(result)) return Promise.resolve(h.onValue(result));
    return Promise.resolve(result).then(h.onValue, h.onError);
  }

  /** Outcome handlers of closed, untimed calls admitted in the current generation. */
  private handlers = this.makeHandlers();

  private makeHandlers(): { onValue: (value: unknown) => unknown; onError: (error: unknown) => never } {
    const generation = this.generation;
    return {
      onValue: (value) => {
        if (value instanceof FastFail)
          this.settle(this.isFailure(value.error), value.error, generation, false, 0);
        else this.settle(false, undefined, generation, false, 0);
        return value;
      },
      onError: (error) => {
        this.settle(this.isFailure(error), error, generation, false, 0);
        throw error;
      },
    };
  }

  private async guarded(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
    probe: boolean,
  ): Promise<unknown> {
    this.calls++;
    const generation = this.generation;
    const start = this.timed ? this.clock.now() : 0;
    let value: unknown;
    try {
      value = await next(fn, chain, index, ctx);
    } catch (error) {
      this.settle(this.isFailure(error), error, generation, probe, start);
      throw error;
    }
    if (value instanceof FastFail) {
      // An inner policy's rejection on the outcome path: a failure like any other.
      this.settle(this.isFailure(value.error), value.error, generation, probe, start);
    } else this.settle(false, undefined, generation, probe, start);
    return value;
  }

  private settle(failure: boolean, error: unknown, generation: number, probe: boolean, start: number): void {
    const now = this.timed ? this.clock.now() : 0;
    const slow = now - start >= this.slowMs;
    if (slow) this.slowCalls++;
    if (failure) this.failures++;
    else this.successes++;
    // A call admitted before the last transition says nothing about the new state.
    if (generation !== this.generation) return;
    if (probe) {
      this.probes--;
      if (failure) this.open('half-open-failure', error);
      else if (++this.probeSuccesses >= this.successThreshold) this.transition('closed');
      return;
    }
    if (this.st !== 'closed') return;
    const reason = this.window.record(failure, slow, now);
    if (reason !== undefined) this.open(reason, error);
  }

  private reject(ctx: Ctx): Promise<unknown> {
    this.rejections++;
    const isolated = this.st === 'isolated';
    const retryAfterMs = this.st === 'open' ? Math.max(0, this.openUntil - this.clock.now()) : undefined;
    if (this.rejectEvents.active) {
      this.rejectEvents.emit({
        breaker: this.name,
        state: this.st,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    if (ctx.outcome) return Promise.resolve(isolated ? this.isolatedRejection : this.openRejection);
    return Promise.reject(new CircuitOpenError(this.name, retryAfterMs, isolated));
  }

  private open(reason: BreakReason, error: unknown): void {
    this.consecutiveOpens++;
    const duration =
      this.breakBackoff === undefined
        ? this.breakDurationMs
        : this.breakBackoff.delayMs(this.consecutiveOpens, this.lastBreakMs);
    this.lastBreakMs = duration;
    this.openUntil = this.clock.now() + duration;
    this.opens++;
    this.transition('open');
    if (this.breakEvents.active) {
      this.breakEvents.emit({
        breaker: this.name,
        reason,
        durationMs: duration,
        ...(error === undefined ? {} : { error }),
      });
    }
  }

  private transition(to: CircuitState): void {
    const from = this.st;
    this.st = to;
    this.generation++;
    this.handlers = this.makeHandlers();
    this.probes = 0;
    this.probeSuccesses = 0;
    if (to === 'closed') {
      this.window.reset();
      this.consecutiveOpens = 0;
      this.lastBreakMs = undefined;
    }
    if (this.stateEvents.active) this.stateEvents.emit({ breaker: this.name, from, to });
    if (to === 'half-open' && this.halfOpenEvents.active) this.halfOpenEvents.emit({ breaker: this.name });
    if (to === 'closed' && this.closeEvents.active) this.closeEvents.emit({ breaker: this.name });
  }

  private sharedRejection(isolated: boolean): FastFail {
    const error = new CircuitOpenError(this.name, undefined, isolated);
    if (!isolated) {
      Object.defineProperty(error, 'retryAfterMs', {
        enumerable: true,
        get: () => (this.st === 'open' ? Math.max(0, this.openUntil - this.clock.now()) : undefined),
      });
    }
    return new FastFail(frozen(error));
  }

  /** Opens the breaker by hand until {@link reset}: every call fails fast. */
  isolate(): void {
    if (this.st === 'isolated') return;
    this.transition('isolated');
    if (this.breakEvents.active) this.breakEvents.emit({ breaker: this.name, reason: 'isolated' });
  }

  /** Closes the breaker and forgets its window (also ends an isolation). */
  reset(): void {
    if (this.st === 'closed') {
      this.window.reset();
      return;
    }
    this.transition('closed');
  }

  /** The serialisable state, for `initialState` of a breaker built later (another process). */
  toJSON(): CircuitBreakerSnapshot {
    const state = this.state;
    return {
      state,
      ...(state === 'open' ? { openRemainingMs: Math.max(0, this.openUntil - this.clock.now()) } : {}),
      consecutiveOpens: this.consecutiveOpens,
      ...(this.lastBreakMs === undefined ? {} : { lastBreakMs: this.lastBreakMs }),
    };
  }

  /** Listens for openings (and isolation). */
  onBreak(listener: Listener<BreakEvent>): Disposer {
    return this.breakEvents.on(listener);
  }
  /** Listens for the move to half-open. */
  onHalfOpen(listener: Listener<{ readonly breaker: string }>): Disposer {
    return this.halfOpenEvents.on(listener);
  }
  /** Listens for closing (after enough probe successes, or `reset()`). */
  onClose(listener: Listener<{ readonly breaker: string }>): Disposer {
    return this.closeEvents.on(listener);
  }
  /** Listens for every state change. */
  onStateChange(listener: Listener<StateChangeEvent>): Disposer {
    return this.stateEvents.on(listener);
  }
  /** Listens for rejected calls. */
  onRejected(listener: Listener<RejectionEvent>): Disposer {
    return this.rejectEvents.on(listener);
  }

  describe(): PolicyDescription {
    return {
      kind: 'circuit-breaker',
      name: this.name,
      options: {
        strategy: this.strategy.describe(),
        ...(this.slowRate === undefined
          ? {}
          : { slowCall: { thresholdMs: this.slowMs, rateThreshold: this.slowRate } }),
        ...(this.breakBackoff
          ? { breakBackoff: this.breakBackoff.describe() }
          : { breakDurationMs: this.breakDurationMs }),
        halfOpen: { maxProbes: this.maxProbes, successThreshold: this.successThreshold },
      },
    };
  }

  metrics(): CircuitBreakerMetrics {
    return {
      kind: 'circuit-breaker',
      name: this.name,
      state: this.state,
      calls: this.calls,
      successes: this.successes,
      failures: this.failures,
      rejections: this.rejections,
      slowCalls: this.slowCalls,
      opens: this.opens,
      probesInFlight: this.probes,
      window: this.window.window(this.clock.now()),
    };
  }
}

/**
 * Fails fast while a downstream is failing, so it can recover and callers
 * do not wait on it: `closed` → `open` (on the strategy's verdict) →
 * `half-open` (after the break) → `closed` (after `successThreshold` probe
 * successes) or `open` again (on any probe failure). Share one breaker per
 * downstream (see `createPolicyRegistry`), never one per request.
 *
 * @example
 * ```ts
 * const breaker = circuitBreaker({
 *   strategy: countWindow({ size: 20, failureRateThreshold: 0.5, minimumCalls: 10 }),
 *   breakDurationMs: 5_000,
 *   halfOpen: { maxProbes: 2, successThreshold: 2 },
 * });
 * ```
 */
export function circuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreakerPolicy {
  return new CircuitBreakerPolicy(options);
}
