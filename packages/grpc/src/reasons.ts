/** Reasons raised by `@sluice/grpc` itself (every one is listed in docs/errors.md). */
export const GrpcReasons = {
  /** The server's bearer-token check found no token, or rejected it (`unauthenticated`). */
  GRPC_UNAUTHENTICATED: 'GRPC_UNAUTHENTICATED',
  /** The caller cancelled the call, or the client's signal aborted it (`cancelled`). */
  GRPC_CANCELLED: 'GRPC_CANCELLED',
  /** A response's bytes did not decode as the method's output message (`internal`). */
  GRPC_MALFORMED_RESPONSE: 'GRPC_MALFORMED_RESPONSE',
  /** The service has no implementation of the called method (`unimplemented`). */
  GRPC_UNIMPLEMENTED: 'GRPC_UNIMPLEMENTED',
  /** A handler threw something that is not a SluiceError; its message is not sent (`internal`). */
  GRPC_HANDLER_FAILED: 'GRPC_HANDLER_FAILED',
} as const;

/** One of {@link GrpcReasons}. */
export type GrpcReason = (typeof GrpcReasons)[keyof typeof GrpcReasons];
