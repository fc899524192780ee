import { isRetryable } from '@sluice/errors';
import {
  type Clock,
  exponential,
  type RetryPolicy,
  retry,
  type TimeoutPolicy,
  timeout,
} from '@sluice/resilience';
import type { StepDefinition, StepRetryOptions } from './define-saga.js';

/** The resilience policies of one step: retry around timeout, for execute and for compensate. @internal */
export interface StepPolicies {
  readonly executeRetry: RetryPolicy;
  readonly executeTimeout: TimeoutPolicy;
  readonly compensateRetry: RetryPolicy;
  readonly compensateTimeout: TimeoutPolicy;
}

/** Default limit of one attempt, in ms. */
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;

const defaultBackoff = () => exponential({ baseMs: 100, maxMs: 5_000 });

function retryOf(
  options: StepRetryOptions | undefined,
  maxAttempts: number,
  retryOn: (error: unknown, attempt: number) => boolean,
  name: string,
  clock: Clock,
): RetryPolicy {
  return retry({
    maxAttempts: options?.maxAttempts ?? maxAttempts,
    backoff: options?.backoff ?? defaultBackoff(),
    retryOn: options?.retryOn ?? retryOn,
    // A server's Retry-After may ask for long waits: a saga step can afford them.
    maxRetryAfterMs: 600_000,
    name,
    clock,
  });
}

/**
 * Builds a step's policies once (policies are immutable values shared by
 * every saga). Steps retry retryable errors 3 times by default;
 * compensations retry every error 5 times.
 * @internal
 */
export function stepPolicies(saga: string, step: StepDefinition, clock: Clock): StepPolicies {
  const o = step.options;
  const name = `${saga}.${step.name}`;
  return {
    executeRetry: retryOf(o.retry, 3, isRetryable, name, clock),
    executeTimeout: timeout(o.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS, { name, clock }),
    compensateRetry: retryOf(o.compensation?.retry, 5, () => true, `${name}.compensate`, clock),
    compensateTimeout: timeout(o.compensation?.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS, {
      name: `${name}.compensate`,
      clock,
    }),
  };
}
