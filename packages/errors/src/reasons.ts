/**
 * Reasons raised by `@sluice/errors` itself: when an error arrives from a
 * transport without a Sluice reason (a foreign server, a proxy), or when
 * something not a Sluice error is wrapped.
 */
export const ErrorsReasons = {
  /** An HTTP error status from a server that sent no Sluice problem body. */
  UPSTREAM_HTTP_ERROR: 'UPSTREAM_HTTP_ERROR',
  /** A gRPC error status from a server that sent no Sluice reason. */
  UPSTREAM_GRPC_ERROR: 'UPSTREAM_GRPC_ERROR',
  /** Something other than a SluiceError was thrown and wrapped. */
  INTERNAL_UNEXPECTED: 'INTERNAL_UNEXPECTED',
} as const;
