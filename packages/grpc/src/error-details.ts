import { create, type DescMessage, fromBinary, type Message, toBinary } from '@bufbuild/protobuf';
import { anyIs, anyPack, anyUnpack, type Duration } from '@bufbuild/protobuf/wkt';
import {
  codeFromGrpcStatus,
  ErrorsReasons,
  type FieldViolation,
  grpcStatusOf,
  isSluiceError,
  SluiceError,
} from '@sluice/errors';
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from './gen/google/rpc/error_details_pb.js';
import { StatusSchema } from './gen/google/rpc/status_pb.js';
import { GrpcReasons } from './reasons.js';

/** Trailer carrying the serialized `google.rpc.Status` (the standard rich error model). */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
/** Trailer carrying the error's reason in plain text, for peers that do not decode the details. */
export const REASON_KEY = 'sluice-reason';
/** Trailer carrying server pushback in milliseconds (gRPC A6): `retryAfterMs` on the client. */
export const PUSHBACK_KEY = 'grpc-retry-pushback-ms';
/** `ErrorInfo.domain` of errors Sluice sends. */
export const ERROR_DOMAIN = 'sluice.dev';

/** One detail message of a status, with its schema. */
export interface WireDetail {
  readonly desc: DescMessage;
  readonly value: Message;
}

/** A gRPC status ready for the wire: code, message and trailers (binary values for `-bin` keys). */
export interface WireStatus {
  /** gRPC status number, 1–16. */
  readonly code: number;
  /** The `grpc-message`. */
  readonly message: string;
  /** The error's trailers: `grpc-status-details-bin`, `sluice-reason`, `grpc-retry-pushback-ms`. */
  readonly trailers: ReadonlyArray<readonly [string, string | Uint8Array]>;
  /** The details as `{ desc, value }` pairs (`ErrorInfo`, `BadRequest`, `RetryInfo`), for Connect's `ConnectError`. */
  readonly details: ReadonlyArray<WireDetail>;
}

function durationOf(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return {
    $typeName: 'google.protobuf.Duration',
    seconds: BigInt(seconds),
    nanos: (ms - seconds * 1000) * 1e6,
  };
}

/**
 * Encodes any thrown value as a gRPC status. A SluiceError keeps its code
 * (through the shared table), message, reason (`ErrorInfo`), violations
 * (`BadRequest`) and `retryAfterMs` (`RetryInfo` and `grpc-retry-pushback-ms`).
 * Anything else becomes INTERNAL with a fixed message: nothing internal leaks.
 */
export function toWireStatus(error: unknown): WireStatus {
  const err = isSluiceError(error)
    ? error
    : new SluiceError({
        code: 'internal',
        reason: GrpcReasons.GRPC_HANDLER_FAILED,
        message: 'internal error',
      });
  const code = grpcStatusOf(err.code);
  const details: WireDetail[] = [
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, {
        reason: err.reason,
        domain: ERROR_DOMAIN,
        metadata: { ...err.details?.metadata },
      }),
    },
  ];
  if (err.violations.length > 0) {
    details.push({
      desc: BadRequestSchema,
      value: create(BadRequestSchema, {
        fieldViolations: err.violations.map((v) => ({ field: v.field, description: v.message })),
      }),
    });
  }
  const trailers: Array<readonly [string, string | Uint8Array]> = [[REASON_KEY, err.reason]];
  if (err.retryAfterMs !== undefined) {
    const ms = Math.max(0, Math.round(err.retryAfterMs));
    details.push({ desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: durationOf(ms) }) });
    trailers.push([PUSHBACK_KEY, String(ms)]);
  }
  const status = create(StatusSchema, {
    code,
    message: err.message,
    details: details.map((d) => anyPack(d.desc, d.value)),
  });
  trailers.push([STATUS_DETAILS_KEY, toBinary(StatusSchema, status)]);
  return { code, message: err.message, trailers, details };
}

/** Reads one trailer (`-bin` keys as bytes, others as text). */
export type TrailerReader = (key: string) => string | Uint8Array | undefined;

/**
 * Rebuilds a SluiceError from a received gRPC status: the code through the
 * shared table, the reason and metadata from `ErrorInfo` (or `sluice-reason`),
 * violations from `BadRequest`, `retryAfterMs` from `grpc-retry-pushback-ms`
 * (or `RetryInfo`). Malformed details are ignored, never thrown.
 */
export function fromWireStatus(
  code: number,
  message: string,
  read: TrailerReader,
  cause?: unknown,
): SluiceError {
  const errorCode = codeFromGrpcStatus(code) ?? 'unknown';
  let reason: string | undefined;
  let metadata: Record<string, string> | undefined;
  let violations: FieldViolation[] | undefined;
  let retryAfterMs: number | undefined;
  const bin = read(STATUS_DETAILS_KEY);
  if (bin instanceof Uint8Array) {
    try {
      const status = fromBinary(StatusSchema, bin);
      for (const any of status.details) {
        if (anyIs(any, ErrorInfoSchema)) {
          const info = anyUnpack(any, ErrorInfoSchema);
          if (info?.reason) reason = info.reason;
          if (info && Object.keys(info.metadata).length > 0) metadata = { ...info.metadata };
        } else if (anyIs(any, BadRequestSchema)) {
          violations = anyUnpack(any, BadRequestSchema)?.fieldViolations.map(
            (v: { field: string; description: string }) => ({
              field: v.field,
              message: v.description,
            }),
          );
        } else if (anyIs(any, RetryInfoSchema)) {
          const d = anyUnpack(any, RetryInfoSchema)?.retryDelay;
          if (d) retryAfterMs = Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);
        }
      }
    } catch {
      // Foreign or corrupt details: keep the code and message.
    }
  }
  const textReason = read(REASON_KEY);
  if (reason === undefined && typeof textReason === 'string' && textReason) reason = textReason;
  const pushback = read(PUSHBACK_KEY);
  if (typeof pushback === 'string' && /^\d+$/.test(pushback)) retryAfterMs = Number(pushback);
  return new SluiceError({
    code: errorCode,
    reason:
      reason ?? (errorCode === 'cancelled' ? GrpcReasons.GRPC_CANCELLED : ErrorsReasons.UPSTREAM_GRPC_ERROR),
    message: message || `gRPC status ${code}`,
    ...(violations?.length || metadata
      ? { details: { ...(violations?.length ? { violations } : {}), ...(metadata ? { metadata } : {}) } }
      : {}),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(cause === undefined ? {} : { cause }),
  });
}
