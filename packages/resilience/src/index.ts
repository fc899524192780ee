/**
 * `@sluice/resilience`: timeouts, retries with backoff and budgets, circuit
 * breakers, bulkheads, rate limiting, hedging, fallbacks and deadlines, as
 * composable policies with a non-throwing outcome API. No runtime
 * dependency but `@sluice/errors`.
 *
 * @example
 * ```ts
 * const inventory = pipeline(
 *   bulkhead({ maxConcurrent: 20, maxQueued: 100 }),
 *   circuitBreaker(),
 *   retry({ maxAttempts: 3 }),
 *   timeout(1_000),
 * );
 * const stock = await inventory.execute(({ signal }) => client.check('sku-1', { signal }));
 * ```
 */

// Policies
export type { Backoff, ExponentialOptions } from './backoff.js';
export { constant, decorrelatedJitter, exponential, fullJitter } from './backoff.js';
export type {
  BreakerStrategy,
  BreakerWindow,
  BreakReason,
  CountWindowOptions,
  TimeWindowOptions,
} from './breaker-strategy.js';
export { consecutive, countWindow, timeWindow } from './breaker-strategy.js';
export type { BulkheadMetrics, BulkheadOptions, BulkheadRejectionEvent } from './bulkhead.js';
export { BulkheadPolicy, bulkhead } from './bulkhead.js';
export type {
  BreakEvent,
  CircuitBreakerMetrics,
  CircuitBreakerOptions,
  CircuitBreakerSnapshot,
  CircuitState,
  RejectionEvent,
  StateChangeEvent,
} from './circuit-breaker.js';
export { CircuitBreakerPolicy, circuitBreaker, isBreakerFailure } from './circuit-breaker.js';
// Extension points
export type { Clock, TimerHandle, TimerOptions } from './clock.js';
export { systemClock } from './clock.js';
// Calls, deadlines, outcomes
export type { ExecuteOptions, ExecutionContext, Operation } from './context.js';
export { currentDeadline, Deadline, withDeadline } from './deadline.js';
// Errors
export {
  BulkheadFullError,
  BulkheadTimeoutError,
  CancelledError,
  CircuitOpenError,
  DeadlineExceededError,
  RateLimitedError,
  TimeoutError,
} from './errors.js';
export type { Disposer, Listener } from './events.js';
export type { FallbackEvent, FallbackMetrics, FallbackOptions } from './fallback.js';
export { FallbackPolicy, fallback } from './fallback.js';
export type { HedgeEvent, HedgingMetrics, HedgingOptions } from './hedging.js';
export { HedgingPolicy, hedging } from './hedging.js';
export type { ExtraOf, PipelineMetrics } from './pipeline.js';
export { Pipeline, pipeline, wrap } from './pipeline.js';
export type { Outcome, Policy, PolicyDescription } from './policy.js';
export type { PolicyRegistry, PolicyRegistryOptions } from './policy-registry.js';
export { createPolicyRegistry } from './policy-registry.js';
export type { RateLimitedEvent, RateLimiterMetrics, RateLimiterOptions } from './rate-limiter.js';
export { RateLimiterPolicy, rateLimiter } from './rate-limiter.js';
export type { ResilienceReason } from './reasons.js';
export { ResilienceReasons } from './reasons.js';
export type { GiveUpEvent, GiveUpReason, RetryEvent, RetryMetrics, RetryOptions } from './retry.js';
export { RetryPolicy, retry } from './retry.js';
export type { BudgetExhaustedEvent, RetryBudgetMetrics, RetryBudgetOptions } from './retry-budget.js';
export { RetryBudget, retryBudget } from './retry-budget.js';
export type { TimeoutEvent, TimeoutMetrics, TimeoutOptions, TimeoutStrategy } from './timeout.js';
export { TimeoutPolicy, timeout } from './timeout.js';
