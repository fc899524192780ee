/**
 * Reasons raised by `@sluice/messaging`. Each one is listed in
 * `docs/errors.md`; match on these strings (with the code), not on classes.
 */
export const MessagingReasons = {
  /** A message or envelope failed validation at publish (`invalid_argument`); nothing was sent. */
  INVALID_MESSAGE: 'MESSAGING_INVALID_MESSAGE',
  /** A message body is larger than the transport accepts (`invalid_argument`). */
  MESSAGE_TOO_LARGE: 'MESSAGING_MESSAGE_TOO_LARGE',
  /** A capability (priority, delay, ordering key…) the transport cannot provide was asked for (`unimplemented`). */
  UNSUPPORTED: 'MESSAGING_UNSUPPORTED',
  /** A transport URL that names no known transport or is malformed (`invalid_argument`). */
  INVALID_URL: 'MESSAGING_INVALID_URL',
  /** The broker or database could not be reached or refused the operation (`unavailable`). */
  TRANSPORT_UNAVAILABLE: 'MESSAGING_TRANSPORT_UNAVAILABLE',
  /** A message was delivered more times than its consumer allows; it went to the DLQ (`resource_exhausted`). */
  MAX_ATTEMPTS: 'MESSAGING_MAX_ATTEMPTS',
  /** The transport or consumer is closed (`failed_precondition`). */
  CLOSED: 'MESSAGING_CLOSED',
  /**
   * A SQLite inbox handler, which runs inside a synchronous transaction,
   * returned a promise (`failed_precondition`); the transaction was rolled
   * back and the bus dead-letters the event.
   */
  SYNC_REQUIRED: 'MESSAGING_SYNC_REQUIRED',
  /**
   * The outbox setup cannot do what was asked (`failed_precondition`): a saga
   * transaction of a dialect the sink has no outbox for, a PostgreSQL relay
   * without a pool.
   */
  OUTBOX_UNCONFIGURED: 'MESSAGING_OUTBOX_UNCONFIGURED',
} as const;

/** One of {@link MessagingReasons}. */
export type MessagingReason = (typeof MessagingReasons)[keyof typeof MessagingReasons];
