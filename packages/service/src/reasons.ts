/**
 * Reasons raised by `@sluice/service`. Each one is listed in `docs/errors.md`.
 */
export const ServiceReasons = {
  /** A call failed or was abandoned because an operator injected a fault into it (code as configured). */
  INJECTED_FAULT: 'SERVICE_INJECTED_FAULT',
  /** An operator's fault request is malformed (`invalid_argument`, every bad field listed). */
  INVALID_FAULT: 'SERVICE_INVALID_FAULT',
  /** A service's configuration (environment) is missing or malformed (`invalid_argument`). */
  INVALID_CONFIG: 'SERVICE_INVALID_CONFIG',
} as const;

/** One of {@link ServiceReasons}. */
export type ServiceReason = (typeof ServiceReasons)[keyof typeof ServiceReasons];
