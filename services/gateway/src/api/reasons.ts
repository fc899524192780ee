/** Reasons the gateway answers with. Listed in docs/errors.md. */
export const GatewayReasons = {
  /** No bearer token, or one that is malformed, badly signed or expired (`unauthenticated`). */
  UNAUTHENTICATED: 'GATEWAY_UNAUTHENTICATED',
  /** The token's role may not call this route (`permission_denied`). */
  FORBIDDEN: 'GATEWAY_FORBIDDEN',
  /** The GraphQL subgraphs are not composed yet (`unavailable`). */
  NOT_COMPOSED: 'GATEWAY_NOT_COMPOSED',
  /** An operator route named a service the gateway does not know (`invalid_argument`). */
  UNKNOWN_SERVICE: 'GATEWAY_UNKNOWN_SERVICE',
  /** No dead letter with this topic, group and id (`not_found`). */
  DEAD_LETTER_NOT_FOUND: 'GATEWAY_DEAD_LETTER_NOT_FOUND',
  /** Too many live-status streams are open (`unavailable`). */
  TOO_MANY_STREAMS: 'GATEWAY_TOO_MANY_STREAMS',
} as const;

/** One of {@link GatewayReasons}. */
export type GatewayReason = (typeof GatewayReasons)[keyof typeof GatewayReasons];
