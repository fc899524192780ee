/**
 * Reasons raised by `@sluice/saga`. Each one is listed in `docs/errors.md`;
 * match on these strings (with the code), not on classes.
 */
export const SagaReasons = {
  /** A saga definition, a start request or an option is malformed (`invalid_argument`). */
  INVALID_ARGUMENT: 'SAGA_INVALID_ARGUMENT',
  /** `start()` named a saga the orchestrator was not given (`invalid_argument`). */
  UNKNOWN_SAGA: 'SAGA_UNKNOWN_SAGA',
  /** A saga id is already used by a saga of another name (`already_exists`). */
  ID_CONFLICT: 'SAGA_ID_CONFLICT',
  /** No saga has this id (`not_found`). */
  NOT_FOUND: 'SAGA_NOT_FOUND',
  /** An operator action does not apply to the saga's current state (`failed_precondition`). */
  INVALID_STATE: 'SAGA_INVALID_STATE',
  /** The saga was cancelled on request; recorded as its failure reason (`cancelled`). */
  CANCELLED: 'SAGA_CANCELLED',
  /** The saga's deadline passed before it completed; recorded as its failure reason (`deadline_exceeded`). */
  DEADLINE_EXCEEDED: 'SAGA_DEADLINE_EXCEEDED',
  /** A step threw something that is not a `SluiceError`; stored with code `unknown`. */
  STEP_FAILED: 'SAGA_STEP_FAILED',
  /** A step returned a value that is not plain JSON, so it cannot be checkpointed (`invalid_argument`). */
  OUTPUT_NOT_JSON: 'SAGA_OUTPUT_NOT_JSON',
  /** A compensation kept failing after its attempts; the saga is parked (`internal`). */
  COMPENSATION_FAILED: 'SAGA_COMPENSATION_FAILED',
  /** `wait()` gave up before the saga reached a final or parked state (`deadline_exceeded`). */
  WAIT_TIMEOUT: 'SAGA_WAIT_TIMEOUT',
  /** The orchestrator is closed (`unavailable`). */
  CLOSED: 'SAGA_CLOSED',
  /** A choreography handler received an event of another type (`invalid_argument`). */
  UNEXPECTED_EVENT: 'SAGA_UNEXPECTED_EVENT',
} as const;

/** One of {@link SagaReasons}. */
export type SagaReason = (typeof SagaReasons)[keyof typeof SagaReasons];
