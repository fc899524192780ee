import { type ErrorCode, GrpcStatus, type GrpcStatusNumber } from './codes.js';

interface Mapping {
  /** HTTP status a server answers with for this code. */
  readonly http: number;
  /** gRPC status number for this code. */
  readonly grpc: GrpcStatusNumber;
  /** Short human title, used as the problem+json `title`. */
  readonly title: string;
}

/**
 * The one table from error code to HTTP status and gRPC status.
 *
 * `failed_precondition` answers 422 (the request is well formed but the state
 * forbids it: insufficient stock, a reused idempotency key); `aborted` answers
 * 409 (a conflict such as the same key still in flight). Both directions are
 * derived from this table; {@link codeFromHttpStatus} adds the statuses the
 * table does not produce (502, 408, …).
 */
export const STATUS_TABLE: Readonly<Record<ErrorCode, Mapping>> = Object.freeze({
  cancelled: { http: 499, grpc: GrpcStatus.CANCELLED, title: 'Cancelled' },
  unknown: { http: 500, grpc: GrpcStatus.UNKNOWN, title: 'Unknown error' },
  invalid_argument: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, title: 'Invalid argument' },
  deadline_exceeded: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED, title: 'Deadline exceeded' },
  not_found: { http: 404, grpc: GrpcStatus.NOT_FOUND, title: 'Not found' },
  already_exists: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, title: 'Already exists' },
  permission_denied: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, title: 'Permission denied' },
  resource_exhausted: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED, title: 'Resource exhausted' },
  failed_precondition: { http: 422, grpc: GrpcStatus.FAILED_PRECONDITION, title: 'Failed precondition' },
  aborted: { http: 409, grpc: GrpcStatus.ABORTED, title: 'Conflict' },
  out_of_range: { http: 400, grpc: GrpcStatus.OUT_OF_RANGE, title: 'Out of range' },
  unimplemented: { http: 501, grpc: GrpcStatus.UNIMPLEMENTED, title: 'Not implemented' },
  internal: { http: 500, grpc: GrpcStatus.INTERNAL, title: 'Internal error' },
  unavailable: { http: 503, grpc: GrpcStatus.UNAVAILABLE, title: 'Service unavailable' },
  data_loss: { http: 500, grpc: GrpcStatus.DATA_LOSS, title: 'Data loss' },
  unauthenticated: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, title: 'Unauthenticated' },
});

const GRPC_TO_CODE: ReadonlyMap<number, ErrorCode> = new Map(
  (Object.entries(STATUS_TABLE) as [ErrorCode, Mapping][]).map(([code, m]) => [m.grpc, code]),
);

/** HTTP status for a code (the status a Sluice server answers with). */
export function httpStatusOf(code: ErrorCode): number {
  return STATUS_TABLE[code].http;
}

/** gRPC status number for a code. */
export function grpcStatusOf(code: ErrorCode): GrpcStatusNumber {
  return STATUS_TABLE[code].grpc;
}

/**
 * The code for an HTTP error status received from any server.
 *
 * Statuses a Sluice server sends map back to their code; for foreign servers:
 * 408 → `deadline_exceeded`, 413/415 → `invalid_argument`, 500 → `internal`,
 * 502 and every other 5xx → `unavailable` (a proxy or a crashed upstream is
 * worth retrying), other
 * 4xx → `failed_precondition`. A Sluice server's problem body carries the exact
 * code, which {@link fromProblem} prefers over the status.
 * Returns `undefined` for statuses below 400.
 */
export function codeFromHttpStatus(status: number): ErrorCode | undefined {
  if (status < 400) return undefined;
  switch (status) {
    case 400:
      return 'invalid_argument';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'permission_denied';
    case 404:
    case 410:
      return 'not_found';
    case 405:
    case 501:
      return 'unimplemented';
    case 408:
    case 504:
      return 'deadline_exceeded';
    case 409:
      return 'aborted';
    case 412:
    case 422:
      return 'failed_precondition';
    case 413:
    case 415:
      return 'invalid_argument';
    case 429:
      return 'resource_exhausted';
    case 499:
      return 'cancelled';
    case 500:
      return 'internal';
    default:
      return status >= 500 ? 'unavailable' : 'failed_precondition';
  }
}

/** The code for a gRPC status number; `undefined` for OK (0) and numbers outside 1–16. */
export function codeFromGrpcStatus(status: number): ErrorCode | undefined {
  return GRPC_TO_CODE.get(status);
}
