import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { isSluiceError } from '@sluice/errors';

/**
 * Marks `span` as failed by `error`: status `ERROR` with the error's message,
 * an `exception` event, and `error.type` (a `SluiceError`'s code, else the
 * error's name) plus `sluice.error.reason` for a `SluiceError`. Does not end
 * the span.
 */
export function recordSpanError(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
  if (isSluiceError(error)) {
    span.setAttribute('error.type', error.code);
    span.setAttribute('sluice.error.reason', error.reason);
  } else {
    span.setAttribute('error.type', err.name || 'Error');
  }
}

/**
 * Ends `span`, first recording `error` when one is given (see
 * {@link recordSpanError}). Call it in `finally`-style code paths so every
 * started span ends exactly once.
 */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) recordSpanError(span, error);
  span.end();
}
