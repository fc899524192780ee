/** Reasons raised by `@sluice/observability`. */
export const ObservabilityReasons = {
  /** An option of `setupTracing`, `createLogger`, `createMetrics` or a binding is missing or out of range. */
  OBSERVABILITY_INVALID_OPTIONS: 'OBSERVABILITY_INVALID_OPTIONS',
  /** `setupTracing` was called while an earlier setup in this process was still installed. */
  OBSERVABILITY_TRACING_INSTALLED: 'OBSERVABILITY_TRACING_INSTALLED',
  /** `bindResilienceMetrics` was given something that is not a `@sluice/resilience` policy or budget. */
  OBSERVABILITY_UNSUPPORTED_POLICY: 'OBSERVABILITY_UNSUPPORTED_POLICY',
} as const;

/** One of {@link ObservabilityReasons}. */
export type ObservabilityReason = (typeof ObservabilityReasons)[keyof typeof ObservabilityReasons];
