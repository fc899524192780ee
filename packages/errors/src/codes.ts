/**
 * The closed set of error codes every Sluice error carries.
 *
 * They are the gRPC canonical codes, spelled in lower snake case, so one
 * vocabulary serves REST, gRPC and messaging alike. Match on `code` (and on
 * `reason` for the business meaning) across processes, never on a class.
 */
export const ERROR_CODES = [
  'cancelled',
  'unknown',
  'invalid_argument',
  'deadline_exceeded',
  'not_found',
  'already_exists',
  'permission_denied',
  'resource_exhausted',
  'failed_precondition',
  'aborted',
  'out_of_range',
  'unimplemented',
  'internal',
  'unavailable',
  'data_loss',
  'unauthenticated',
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** gRPC status numbers (google.rpc.Code). `OK` (0) is not an error and has no {@link ErrorCode}. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status number. */
export type GrpcStatusNumber = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** Codes whose errors are retryable unless an error says otherwise. */
export const DEFAULT_RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'unavailable',
  'deadline_exceeded',
  'resource_exhausted',
]);

/** True when `value` is one of the closed set of codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
