/**
 * Header names Sluice sends and reads (lower case, as Node presents them).
 */
export const HttpHeaders = {
  /** Correlates one request across services and logs; echoed on every response. */
  requestId: 'x-request-id',
  /**
   * The caller's remaining budget, in whole milliseconds, relative to when
   * the request was sent (see decision record 004). Read by the server into
   * `request.deadline`.
   */
  deadline: 'sluice-deadline-ms',
  /** The calling service's name (caller identity); scopes idempotency keys. */
  caller: 'sluice-caller',
  /** IETF draft-ietf-httpapi-idempotency-key-header: a structured-field string. */
  idempotencyKey: 'idempotency-key',
  /** Set to `true` on a response replayed from the idempotency store. */
  idempotentReplayed: 'idempotent-replayed',
  /** W3C Trace Context. */
  traceparent: 'traceparent',
} as const;
