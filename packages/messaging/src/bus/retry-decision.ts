import { isSluiceError } from '@sluice/errors';
import type { Backoff } from '@sluice/resilience';
import { MessagingReasons } from '../reasons.js';
import type { DeadLetterFailure } from '../transport.js';

/** What the bus does with a delivery whose handler failed. */
export type RetryDecision =
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'deadLetter'; readonly failure: DeadLetterFailure };

/** A readable one-line message of anything thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  try {
    return typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
  } catch {
    return String(error);
  }
}

/**
 * The bus's retry and dead-letter policy (decision 007), in one pure function:
 *
 * - a `SluiceError` that is not retryable (e.g. `invalid_argument`,
 *   `failed_precondition`) goes to the DLQ at once, with its own reason;
 * - any other error is retried after `backoff.delayMs(attempt)` while
 *   `attempt < maxAttempts`;
 * - on the last attempt it goes to the DLQ with `MESSAGING_MAX_ATTEMPTS`.
 *
 * @param attempt the delivery's attempt number (1 = first delivery).
 */
export function decideRetry(
  error: unknown,
  attempt: number,
  maxAttempts: number,
  backoff: Backoff,
): RetryDecision {
  const message = errorMessage(error);
  if (isSluiceError(error) && !error.retryable)
    return { action: 'deadLetter', failure: { error: message, reason: error.reason } };
  if (attempt >= maxAttempts)
    return {
      action: 'deadLetter',
      failure: {
        error: `gave up after ${attempt} attempts: ${message}`,
        reason: MessagingReasons.MAX_ATTEMPTS,
      },
    };
  const delay = backoff.delayMs(attempt, undefined);
  return { action: 'retry', delayMs: Number.isFinite(delay) && delay > 0 ? Math.round(delay) : 0 };
}
