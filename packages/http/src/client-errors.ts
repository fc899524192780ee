import { fromProblem, PROBLEM_CONTENT_TYPE, SluiceError } from '@sluice/errors';
import { CancelledError } from '@sluice/resilience';
import { HttpReasons } from './reasons.js';

/**
 * The error for an HTTP error response: a problem+json (or any JSON) body
 * goes through `fromProblem` (a Sluice server's exact code, reason and field
 * violations survive); anything else maps from the status through the
 * shared table. `Retry-After` becomes `retryAfterMs`.
 */
export function errorFromResponse(
  status: number,
  contentType: string | undefined,
  body: unknown,
  retryAfter: string | undefined,
): SluiceError {
  const json =
    contentType !== undefined &&
    (contentType.startsWith(PROBLEM_CONTENT_TYPE) || contentType.includes('json'));
  return fromProblem(json ? body : undefined, status, {
    retryAfter,
    message: typeof body === 'string' && body.length > 0 && body.length <= 200 ? body : `HTTP ${status}`,
  });
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_DESTROYED',
]);

/**
 * Turns what undici threw into a Sluice error. An aborted call reports why
 * it was aborted (the timeout or deadline error a policy aborted with, or a
 * `CancelledError` for the caller's own abort); connection failures become
 * `unavailable` / `HTTP_CONNECTION_FAILED` (retryable); anything else is
 * returned as is when already a Sluice error, else wrapped as `unavailable`.
 */
export function errorFromTransport(
  error: unknown,
  signal: AbortSignal | undefined,
  target: string,
): SluiceError {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof SluiceError) return reason;
    return new CancelledError(reason);
  }
  if (error instanceof SluiceError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new SluiceError({
    code: 'unavailable',
    reason: HttpReasons.CONNECTION_FAILED,
    message: `${target}: ${typeof code === 'string' && CONNECTION_CODES.has(code) ? code : 'request failed'}: ${message}`,
    details: { metadata: { target, ...(typeof code === 'string' ? { errno: code } : {}) } },
    cause: error,
  });
}
