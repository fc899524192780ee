/** Reasons raised by `@sluice/observability`. */
export const ObservabilityReasons = {
  /** An option of `setupTracing`, `createLogger`, `createMetrics` or a binding is missing or out of range. */
  OBSERVABILITY_INVALID_OPTION: 'OBSERVABILITY_INVALID_OPTION',
  /** `setupTracing` was called while an earlier setup in this process was still installed. */
  OBSERVABILITY_SDK_INSTALLED: 'OBSERVABILITY_SDK_INSTALLED',
  /** `bindResilienceMetrics` was given something that is not a `@sluice/resilience` policy or budget. */
  OBSERVABILITY_NOT_A_POLICY: 'OBSERVABILITY_NOT_A_POLICY',
} as const;

/** One of {@link ObservabilityReasons}. */
export type ObservabilityReason = (typeof ObservabilityReasons)[keyof typeof ObservabilityReasons];
