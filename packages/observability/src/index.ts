/**
 * `@sluice/observability`: what a service's `main.ts` calls to install
 * OpenTelemetry tracing, write JSON logs that carry trace and request ids,
 * and expose Prometheus metrics. Libraries (`@sluice/http`, `@sluice/grpc`,
 * messaging, saga) depend only on `@opentelemetry/api`; the propagation and
 * messaging-span helpers here use only that api too.
 *
 * @example
 * ```ts
 * const tracing = setupTracing({ serviceName: 'order' });
 * const log = createLogger({ service: 'order' });
 * const metrics = createMetrics({ defaultLabels: { service: 'order' } });
 * http.createServer(metricsHandler(metrics)).listen(9464);
 * ```
 */

export type { ReadableSpan, Sampler, SpanExporter } from '@opentelemetry/sdk-trace-base';
export { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
// Tracing (the SDK, installed by the composition root)
export type { JsonLinesSpanExporterOptions, JsonSpanLine } from './json-lines-span-exporter.js';
export { jsonLinesSpanExporter, spanToJsonLine } from './json-lines-span-exporter.js';
// Logging
export type { LogContext } from './log-context.js';
export { getLogContext, runWithLogContext } from './log-context.js';
export type { CreateLoggerOptions, Logger } from './logger.js';
export { createLogger, logCorrelationFields } from './logger.js';
export type {
  ConsumerSpan,
  ConsumerSpanOptions,
  MessagingSpanOptions,
  ProducerSpan,
  ProducerSpanOptions,
} from './messaging-spans.js';
export {
  MESSAGING_TRACER_NAME,
  MessagingAttributes,
  startConsumerSpan,
  startProducerSpan,
  withConsumerSpan,
  withProducerSpan,
} from './messaging-spans.js';
// Metrics
export type {
  CallSide,
  GrpcCallObservation,
  HttpRequestObservation,
  MessageObservation,
  MessageOutcome,
  Metrics,
  MetricsOptions,
} from './metrics.js';
export { createMetrics, grpcCodeName } from './metrics.js';
export type { RenderedMetrics } from './metrics-endpoint.js';
export { metricsHandler, renderMetrics } from './metrics-endpoint.js';
export type { QueueMetricsOptions, QueueStats } from './queue-metrics.js';
export { bindQueueMetrics } from './queue-metrics.js';
// Errors
export type { ObservabilityReason } from './reasons.js';
export { ObservabilityReasons } from './reasons.js';
export { logResilienceEvents } from './resilience-logs.js';
export type { ResilienceSource } from './resilience-metrics.js';
export { bindResilienceMetrics } from './resilience-metrics.js';
export { endSpan, recordSpanError } from './span-outcome.js';
// Propagation and span helpers (@opentelemetry/api only)
export type { PropagationOptions, TraceCarrier } from './trace-propagation.js';
export {
  currentTraceIds,
  extractTraceContext,
  injectTraceContext,
  traceHeaders,
} from './trace-propagation.js';
export type { Tracing, TracingOptions } from './tracing.js';
export { setupTracing } from './tracing.js';
