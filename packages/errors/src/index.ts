/**
 * `@sluice/errors`: one error model for every Sluice package and service.
 *
 * @example
 * ```ts
 * import { SluiceError, toProblem, fromProblem, isSluiceError } from '@sluice/errors';
 * const err = new SluiceError({ code: 'not_found', reason: 'ORDER_NOT_FOUND', message: 'no order o-1' });
 * const body = toProblem(err, '/api/v1/orders/o-1'); // { status: 404, code: 'not_found', ... }
 * const back = fromProblem(body, 404);                 // same code and reason
 * isSluiceError(back);                                 // true
 * ```
 */

export type { ErrorCode, GrpcStatusNumber } from './codes.js';
export { DEFAULT_RETRYABLE_CODES, ERROR_CODES, GrpcStatus, isErrorCode } from './codes.js';
export type { FromWireOptions, ProblemDetails } from './problem.js';
export {
  fromGrpcStatus,
  fromHttpStatus,
  fromProblem,
  PROBLEM_CONTENT_TYPE,
  parseRetryAfter,
  toProblem,
} from './problem.js';
export { ErrorsReasons } from './reasons.js';
export type { ErrorDetails, FieldViolation, SluiceErrorJSON, SluiceErrorOptions } from './sluice-error.js';
export { isRetryable, isSluiceError, SluiceError, toSluiceError } from './sluice-error.js';
export {
  codeFromGrpcStatus,
  codeFromHttpStatus,
  grpcStatusOf,
  httpStatusOf,
  STATUS_TABLE,
} from './status-mapping.js';
