import { type ErrorCode, isErrorCode } from './codes.js';
import { ErrorsReasons } from './reasons.js';
import { type FieldViolation, SluiceError } from './sluice-error.js';
import { codeFromGrpcStatus, codeFromHttpStatus, STATUS_TABLE } from './status-mapping.js';

/** Media type of RFC 9457 problem details. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * An RFC 9457 problem details body, with Sluice's extension members
 * (`code`, `reason`, `errors`, `retryAfterMs`, `metadata`).
 */
export interface ProblemDetails {
  /** URI identifying the problem type: `urn:sluice:problem:<reason>`. */
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly code: ErrorCode;
  readonly reason: string;
  /** Field-level violations (every one, not just the first). */
  readonly errors?: readonly FieldViolation[];
  readonly metadata?: Readonly<Record<string, string>>;
  readonly retryAfterMs?: number;
  readonly [extension: string]: unknown;
}

const TYPE_PREFIX = 'urn:sluice:problem:';

/**
 * Renders an error as an RFC 9457 body. Anything not a Sluice error is
 * rendered as `internal` with no detail (nothing internal leaks).
 *
 * @param instance the request path or id the problem occurred on.
 */
export function toProblem(error: SluiceError, instance?: string): ProblemDetails {
  const mapping = STATUS_TABLE[error.code];
  return {
    type: `${TYPE_PREFIX}${error.reason}`,
    title: mapping.title,
    status: mapping.http,
    detail: error.message,
    ...(instance === undefined ? {} : { instance }),
    code: error.code,
    reason: error.reason,
    ...(error.details?.violations?.length ? { errors: error.details.violations } : {}),
    ...(error.details?.metadata ? { metadata: error.details.metadata } : {}),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  };
}

/** Options shared by the `from*` constructors. */
export interface FromWireOptions {
  /** Value of a `Retry-After` header (seconds or an HTTP date), or milliseconds as a number. */
  readonly retryAfter?: string | number | null | undefined;
  /** Message to use when the wire carried none. */
  readonly message?: string | undefined;
  /** Clock for HTTP-date `Retry-After` values. Default: `Date.now`. */
  readonly now?: () => number;
}

/**
 * Parses a `Retry-After` value into milliseconds: delta-seconds (`"120"`) or an
 * HTTP date. Returns `undefined` for anything unparseable or negative.
 */
export function parseRetryAfter(
  value: string | number | null | undefined,
  now: () => number = Date.now,
): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now());
}

function asViolations(value: unknown): FieldViolation[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: FieldViolation[] = [];
  for (const v of value) {
    if (v && typeof v === 'object' && typeof v.field === 'string' && typeof v.message === 'string') {
      out.push({ field: v.field, message: v.message });
    }
  }
  return out.length ? out : undefined;
}

function asMetadata(value: unknown): Record<string, string> | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Rebuilds an error from an HTTP error response: a Sluice problem body keeps
 * its exact code, reason and violations; any other body falls back to
 * {@link fromHttpStatus}. Never throws, whatever the body holds.
 */
export function fromProblem(body: unknown, status: number, options: FromWireOptions = {}): SluiceError {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return fromHttpStatus(status, options);
  const p = body as Record<string, unknown>;
  const code = isErrorCode(p.code) ? p.code : codeFromHttpStatus(status);
  if (code === undefined) return fromHttpStatus(status, options);
  const reason =
    typeof p.reason === 'string' && p.reason.length > 0 ? p.reason : ErrorsReasons.UPSTREAM_HTTP_ERROR;
  const message =
    typeof p.detail === 'string'
      ? p.detail
      : typeof p.title === 'string'
        ? p.title
        : (options.message ?? reason);
  const retryAfterMs =
    parseRetryAfter(options.retryAfter, options.now) ??
    (typeof p.retryAfterMs === 'number' ? parseRetryAfter(p.retryAfterMs) : undefined);
  const violations = asViolations(p.errors);
  const metadata = asMetadata(p.metadata);
  return new SluiceError({
    code,
    reason,
    message,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(violations || metadata
      ? { details: { ...(violations ? { violations } : {}), ...(metadata ? { metadata } : {}) } }
      : {}),
  });
}

/**
 * An error for an HTTP status from a server that sent no Sluice problem body.
 * A `Retry-After` makes even a normally final status carry `retryAfterMs`.
 *
 * @throws RangeError when `status` is not an error status (below 400).
 */
export function fromHttpStatus(status: number, options: FromWireOptions = {}): SluiceError {
  const code = codeFromHttpStatus(status);
  if (code === undefined) throw new RangeError(`HTTP status ${status} is not an error status`);
  const retryAfterMs = parseRetryAfter(options.retryAfter, options.now);
  return new SluiceError({
    code,
    reason: ErrorsReasons.UPSTREAM_HTTP_ERROR,
    message: options.message ?? `HTTP ${status}`,
    details: { metadata: { httpStatus: String(status) } },
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/**
 * An error for a gRPC status. `reason` comes from the server's metadata when it
 * sent one (the grpc package puts it in `sluice-reason`); pushback (the
 * `grpc-retry-pushback-ms` trailer) becomes `retryAfterMs`.
 *
 * @throws RangeError for OK (0) or a number outside 1–16.
 */
export function fromGrpcStatus(
  status: number,
  options: FromWireOptions & {
    readonly reason?: string | undefined;
    readonly violations?: readonly FieldViolation[];
  } = {},
): SluiceError {
  const code = codeFromGrpcStatus(status);
  if (code === undefined) throw new RangeError(`gRPC status ${status} is not an error status`);
  const retryAfterMs = parseRetryAfter(options.retryAfter, options.now);
  return new SluiceError({
    code,
    reason: options.reason || ErrorsReasons.UPSTREAM_GRPC_ERROR,
    message: options.message ?? `gRPC status ${status}`,
    ...(options.violations?.length ? { details: { violations: options.violations } } : {}),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}
