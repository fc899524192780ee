/**
 * Reasons raised by `@sluice/http`. Each is listed in `docs/errors.md`
 * (a test keeps the two in step). Match on these across processes.
 */
export const HttpReasons = {
  /** The request failed its route schema (body, query, params or headers); `errors` lists every field. `invalid_argument`, 400. */
  INVALID_REQUEST: 'HTTP_INVALID_REQUEST',
  /** The body is not parseable as its content type (malformed JSON, empty JSON body, prototype poisoning). `invalid_argument`, 400. */
  MALFORMED_BODY: 'HTTP_MALFORMED_BODY',
  /** The body is larger than the route's body limit. `invalid_argument`, 413. */
  BODY_TOO_LARGE: 'HTTP_BODY_TOO_LARGE',
  /** The body's content type has no parser on this server. `invalid_argument`, 415. */
  UNSUPPORTED_MEDIA_TYPE: 'HTTP_UNSUPPORTED_MEDIA_TYPE',
  /** Fastify rejected the request for another client-side reason (the detail says which). Code from the status. */
  REQUEST_REJECTED: 'HTTP_REQUEST_REJECTED',
  /** No route matches the method and path. `not_found`, 404. */
  ROUTE_NOT_FOUND: 'HTTP_ROUTE_NOT_FOUND',
  /** The `sluice-deadline-ms` header is not a non-negative integer of milliseconds. `invalid_argument`, 400. */
  INVALID_DEADLINE: 'HTTP_INVALID_DEADLINE',
  /** A route that requires an `Idempotency-Key` header got none. `invalid_argument`, 400. */
  IDEMPOTENCY_KEY_MISSING: 'HTTP_IDEMPOTENCY_KEY_MISSING',
  /** The `Idempotency-Key` header is empty, too long or not printable ASCII. `invalid_argument`, 400. */
  IDEMPOTENCY_KEY_INVALID: 'HTTP_IDEMPOTENCY_KEY_INVALID',
  /** The key was already used for a request with a different payload. `failed_precondition`, 422. */
  IDEMPOTENCY_KEY_REUSED: 'HTTP_IDEMPOTENCY_KEY_REUSED',
  /** The first request with this key is still being processed. `aborted`, 409. */
  IDEMPOTENCY_KEY_IN_FLIGHT: 'HTTP_IDEMPOTENCY_KEY_IN_FLIGHT',
  /** `/readyz`: a readiness check failed or timed out, or the server is draining. `unavailable`, 503. */
  NOT_READY: 'HTTP_NOT_READY',
  /** Client: the connection to the server failed or broke before a response (refused, reset, closed). `unavailable`. */
  CONNECTION_FAILED: 'HTTP_CONNECTION_FAILED',
} as const;

/** One of {@link HttpReasons}. */
export type HttpReason = (typeof HttpReasons)[keyof typeof HttpReasons];
