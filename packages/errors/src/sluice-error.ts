import { DEFAULT_RETRYABLE_CODES, type ErrorCode } from './codes.js';

/** One violated field of a request, event or message. */
export interface FieldViolation {
  /** Path of the field, dotted or JSON-pointer style (`items.0.quantity`, `/data/total`). */
  readonly field: string;
  /** What is wrong with it, for a human. */
  readonly message: string;
}

/** Structured details an error carries across the wire. */
export interface ErrorDetails {
  /** Every violated field (validation errors list all of them, not the first). */
  readonly violations?: readonly FieldViolation[];
  /** Free-form string facts (ids, limits) safe to show to a caller. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Options of {@link SluiceError}. */
export interface SluiceErrorOptions {
  /** One of the closed set of codes. */
  readonly code: ErrorCode;
  /** Stable, namespaced, UPPER_SNAKE reason (`INVENTORY_INSUFFICIENT_STOCK`). Listed in docs/errors.md. */
  readonly reason: string;
  /** Human message. Default: the reason. */
  readonly message?: string;
  /** Field violations and metadata. */
  readonly details?: ErrorDetails;
  /** The underlying error, kept for logs; never sent over the wire. */
  readonly cause?: unknown;
  /** Override the code's default retryability (default: `unavailable`, `deadline_exceeded`, `resource_exhausted`). */
  readonly retryable?: boolean;
  /** Milliseconds the server asked the caller to wait before retrying (HTTP `Retry-After`, gRPC pushback). */
  readonly retryAfterMs?: number;
}

/** The brand that lets {@link isSluiceError} recognise errors made by another copy of this package. */
const BRAND = Symbol.for('@sluice/errors.SluiceError');

/** The plain-object form of a {@link SluiceError} (what `toJSON()` returns). */
export interface SluiceErrorJSON {
  readonly name: string;
  readonly code: ErrorCode;
  readonly reason: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly details?: ErrorDetails;
}

/**
 * The one error type of Sluice.
 *
 * A `code` from a closed set says what kind of failure it is (and so which HTTP
 * and gRPC status it maps to); a `reason` says precisely what happened, stably
 * across versions; `retryable` is data that retry policies and saga steps read.
 *
 * @example
 * ```ts
 * throw new SluiceError({
 *   code: 'failed_precondition',
 *   reason: 'INVENTORY_INSUFFICIENT_STOCK',
 *   message: 'only 2 of sku-1 left',
 *   details: { metadata: { productId: 'sku-1', available: '2' } },
 * });
 * ```
 */
export class SluiceError extends Error {
  override readonly name: string = 'SluiceError';
  readonly code: ErrorCode;
  readonly reason: string;
  readonly details: ErrorDetails | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(options: SluiceErrorOptions) {
    super(
      options.message ?? options.reason,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = options.code;
    this.reason = options.reason;
    this.details = options.details;
    this.retryable = options.retryable ?? DEFAULT_RETRYABLE_CODES.has(options.code);
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Field violations, or an empty list. */
  get violations(): readonly FieldViolation[] {
    return this.details?.violations ?? [];
  }

  /** The wire-safe plain form (no stack, no cause). */
  toJSON(): SluiceErrorJSON {
    return {
      name: this.name,
      code: this.code,
      reason: this.reason,
      message: this.message,
      retryable: this.retryable,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }

  /** Rebuilds an error from its {@link toJSON} form (for example from a DLQ record or a saga log). */
  static fromJSON(json: SluiceErrorJSON): SluiceError {
    return new SluiceError({
      code: json.code,
      reason: json.reason,
      message: json.message,
      retryable: json.retryable,
      ...(json.retryAfterMs === undefined ? {} : { retryAfterMs: json.retryAfterMs }),
      ...(json.details === undefined ? {} : { details: json.details }),
    });
  }
}

Object.defineProperty(SluiceError.prototype, BRAND, { value: true, enumerable: false });

/**
 * True when `value` is a Sluice error, even one made by a different copy of
 * `@sluice/errors` (two versions in one `node_modules`), where `instanceof` fails.
 */
export function isSluiceError(value: unknown): value is SluiceError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

/**
 * Whether a failure is worth retrying: a Sluice error's own `retryable` flag;
 * for any other value, `false` (unknown errors are not retried by default).
 */
export function isRetryable(error: unknown): boolean {
  return isSluiceError(error) && error.retryable;
}

/**
 * Wraps anything thrown into a Sluice error. A Sluice error is returned as is;
 * anything else becomes `internal` / `INTERNAL_UNEXPECTED` with the original as
 * `cause`.
 */
export function toSluiceError(error: unknown): SluiceError {
  if (isSluiceError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SluiceError({ code: 'internal', reason: 'INTERNAL_UNEXPECTED', message, cause: error });
}
