/**
 * Reasons raised by `@sluice/resilience`. Each one is listed in
 * `docs/errors.md`; match on these strings (with the code), not on classes.
 */
export const ResilienceReasons = {
  /** A timeout policy's own limit passed before the operation settled (`deadline_exceeded`). */
  TIMEOUT: 'RESILIENCE_TIMEOUT',
  /** The call's deadline passed, or nothing of it was left to give a callee (`deadline_exceeded`). */
  DEADLINE_EXCEEDED: 'RESILIENCE_DEADLINE_EXCEEDED',
  /** A circuit breaker is open (or half-open with every probe slot taken) (`unavailable`). */
  CIRCUIT_OPEN: 'RESILIENCE_CIRCUIT_OPEN',
  /** A circuit breaker was isolated by hand and rejects every call until reset (`unavailable`). */
  CIRCUIT_ISOLATED: 'RESILIENCE_CIRCUIT_ISOLATED',
  /** A bulkhead has every slot busy and its queue full (`resource_exhausted`). */
  BULKHEAD_FULL: 'RESILIENCE_BULKHEAD_FULL',
  /** A call waited in a bulkhead's queue longer than the queue timeout (`resource_exhausted`). */
  BULKHEAD_TIMEOUT: 'RESILIENCE_BULKHEAD_TIMEOUT',
  /** A rate limiter had no token for the call (`resource_exhausted`). */
  RATE_LIMITED: 'RESILIENCE_RATE_LIMITED',
  /** The caller's signal aborted while a policy was waiting (queue, backoff sleep) (`cancelled`). */
  CANCELLED: 'RESILIENCE_CANCELLED',
  /** A policy factory was given an option out of range (`invalid_argument`, `details.violations`). */
  INVALID_OPTION: 'RESILIENCE_INVALID_OPTION',
} as const;

/** One of {@link ResilienceReasons}. */
export type ResilienceReason = (typeof ResilienceReasons)[keyof typeof ResilienceReasons];
