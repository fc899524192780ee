import { SluiceError } from '@sluice/errors';
import { ResilienceReasons } from './reasons.js';

/**
 * The operation did not settle within a timeout policy's limit.
 * Code `deadline_exceeded` (retryable by default), reason `RESILIENCE_TIMEOUT`.
 */
export class TimeoutError extends SluiceError {
  override readonly name: string = 'TimeoutError';
  /** Name of the operation (the policy's `name` option). */
  readonly operation: string;
  /** The limit that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(operation: string, timeoutMs: number, cause?: unknown) {
    super({
      code: 'deadline_exceeded',
      reason: ResilienceReasons.TIMEOUT,
      message: `${operation} timed out after ${timeoutMs} ms`,
      details: { metadata: { operation, timeoutMs: String(timeoutMs) } },
      ...(cause === undefined ? {} : { cause }),
    });
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The call's {@link Deadline} passed (or too little of it was left for a
 * callee). Code `deadline_exceeded`, reason `RESILIENCE_DEADLINE_EXCEEDED`.
 */
export class DeadlineExceededError extends SluiceError {
  override readonly name: string = 'DeadlineExceededError';
  /** Name of the operation, when a policy raised it. */
  readonly operation: string | undefined;

  constructor(message = 'deadline exceeded', operation?: string, cause?: unknown) {
    super({
      code: 'deadline_exceeded',
      reason: ResilienceReasons.DEADLINE_EXCEEDED,
      message,
      ...(operation === undefined ? {} : { details: { metadata: { operation } } }),
      ...(cause === undefined ? {} : { cause }),
    });
    this.operation = operation;
  }
}

/**
 * A circuit breaker rejected the call without running it. Code `unavailable`,
 * reason `RESILIENCE_CIRCUIT_OPEN` (or `RESILIENCE_CIRCUIT_ISOLATED` after
 * `isolate()`). `retryAfterMs` says how long until the breaker admits a probe
 * (absent when isolated).
 */
export class CircuitOpenError extends SluiceError {
  override readonly name: string = 'CircuitOpenError';
  /** Name of the breaker (its `name` option). */
  readonly breaker: string;

  constructor(breaker: string, retryAfterMs: number | undefined, isolated = false) {
    super({
      code: 'unavailable',
      reason: isolated ? ResilienceReasons.CIRCUIT_ISOLATED : ResilienceReasons.CIRCUIT_OPEN,
      message: isolated ? `circuit ${breaker} is isolated` : `circuit ${breaker} is open`,
      details: { metadata: { breaker } },
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
    this.breaker = breaker;
  }
}

/**
 * A bulkhead had every slot busy and a full queue. Code `resource_exhausted`,
 * reason `RESILIENCE_BULKHEAD_FULL`.
 */
export class BulkheadFullError extends SluiceError {
  override readonly name: string = 'BulkheadFullError';
  /** Name of the bulkhead. */
  readonly bulkhead: string;

  constructor(bulkhead: string, maxConcurrent: number, maxQueued: number) {
    super({
      code: 'resource_exhausted',
      reason: ResilienceReasons.BULKHEAD_FULL,
      message: `bulkhead ${bulkhead} is full (${maxConcurrent} running, ${maxQueued} queued)`,
      details: { metadata: { bulkhead, maxConcurrent: String(maxConcurrent), maxQueued: String(maxQueued) } },
    });
    this.bulkhead = bulkhead;
  }
}

/**
 * A call waited in a bulkhead's queue longer than `queueTimeoutMs`. Code
 * `resource_exhausted`, reason `RESILIENCE_BULKHEAD_TIMEOUT`.
 */
export class BulkheadTimeoutError extends SluiceError {
  override readonly name: string = 'BulkheadTimeoutError';
  /** Name of the bulkhead. */
  readonly bulkhead: string;

  constructor(bulkhead: string, queueTimeoutMs: number) {
    super({
      code: 'resource_exhausted',
      reason: ResilienceReasons.BULKHEAD_TIMEOUT,
      message: `waited ${queueTimeoutMs} ms in the queue of bulkhead ${bulkhead}`,
      details: { metadata: { bulkhead, queueTimeoutMs: String(queueTimeoutMs) } },
    });
    this.bulkhead = bulkhead;
  }
}

/**
 * A rate limiter had no token left. Code `resource_exhausted`, reason
 * `RESILIENCE_RATE_LIMITED`; `retryAfterMs` is when the next token arrives.
 */
export class RateLimitedError extends SluiceError {
  override readonly name: string = 'RateLimitedError';
  /** Name of the limiter. */
  readonly limiter: string;

  constructor(limiter: string, retryAfterMs: number | undefined) {
    super({
      code: 'resource_exhausted',
      reason: ResilienceReasons.RATE_LIMITED,
      message: `rate limit ${limiter} exceeded`,
      details: { metadata: { limiter } },
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
    this.limiter = limiter;
  }
}

/**
 * The caller's signal aborted while a policy was waiting on its behalf (in a
 * bulkhead queue, a retry's backoff sleep, a hedge's delay). Code `cancelled`
 * (never retried), reason `RESILIENCE_CANCELLED`; `cause` is the signal's reason.
 */
export class CancelledError extends SluiceError {
  override readonly name: string = 'CancelledError';

  constructor(cause?: unknown, message = 'cancelled by the caller') {
    super({
      code: 'cancelled',
      reason: ResilienceReasons.CANCELLED,
      message,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/**
 * The error for an aborted signal: its reason when that is already a Sluice
 * error (a {@link TimeoutError} a timeout policy aborted with), otherwise a
 * {@link CancelledError} wrapping it.
 */
export function abortError(signal: AbortSignal): SluiceError {
  const reason: unknown = signal.reason;
  return reason instanceof SluiceError ? reason : new CancelledError(reason);
}

/**
 * Freezes an error so one instance can be shared by every rejection of the
 * outcome API (no Error, no stack capture per rejected call).
 */
export function frozen<E extends Error>(error: E): E {
  return Object.freeze(error);
}

/**
 * A policy was built with an option that makes no sense (a negative limit, a
 * rate above 1…). Code `invalid_argument`, reason
 * `RESILIENCE_INVALID_OPTION`, `details.violations` names the option. Thrown
 * by the factories, before anything is built.
 */
export function invalidOption(factory: string, field: string, problem: string): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: ResilienceReasons.INVALID_OPTION,
    message: `${factory}: ${field} ${problem}`,
    details: { violations: [{ field, message: problem }] },
  });
}
