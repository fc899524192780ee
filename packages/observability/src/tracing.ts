import { type Attributes, context, propagation, type Tracer, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { SluiceError } from '@sluice/errors';
import { invalidOption } from './invalid-options.js';
import { ObservabilityReasons } from './reasons.js';

/** Options of {@link setupTracing}. */
export interface TracingOptions {
  /** `service.name` of every span (the resource). Required, non-empty. */
  readonly serviceName: string;
  /** `service.version`, when given. */
  readonly serviceVersion?: string;
  /** More resource attributes (`deployment.environment.name`, `service.instance.id`, …). */
  readonly resourceAttributes?: Attributes;
  /**
   * Where finished spans go: any OpenTelemetry `SpanExporter` — an
   * `InMemorySpanExporter` in tests, `jsonLinesSpanExporter()` for JSON lines
   * on stderr, an OTLP exporter if you add one. Default: none — spans are
   * still created, sampled and propagated (their ids reach logs and
   * downstream services), just not exported.
   */
  readonly exporter?: SpanExporter;
  /**
   * `'batch'` (default) exports in the background in batches (what a service
   * wants); `'simple'` exports each span as it ends. `InMemorySpanExporter`
   * defaults to `'simple'`. Either way call `forceFlush()` before reading an
   * exporter.
   */
  readonly processor?: 'batch' | 'simple';
  /**
   * Which traces are recorded: a ratio in [0, 1] of new traces (children
   * follow their parent's decision), or any `Sampler`. Default: every trace
   * (`ParentBased(AlwaysOn)`).
   */
  readonly sampler?: number | Sampler;
  /** The instrumentation scope name of the returned `tracer`. Default: `serviceName`. */
  readonly tracerName?: string;
}

/** What {@link setupTracing} returns. */
export interface Tracing {
  /** A tracer of the installed provider, for the service's own spans. */
  readonly tracer: Tracer;
  /** Exports every finished span not yet exported (the batch queue). */
  forceFlush(): Promise<void>;
  /**
   * Flushes, stops the provider and uninstalls the global tracer provider,
   * context manager and propagator, so `setupTracing` may be called again.
   * Idempotent.
   */
  shutdown(): Promise<void>;
}

function samplerOf(option: number | Sampler | undefined): Sampler {
  if (option === undefined) return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  if (typeof option === 'number') {
    if (!(option >= 0 && option <= 1))
      throw invalidOption('setupTracing', 'sampler', 'must be a ratio in [0, 1]');
    return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(option) });
  }
  if (typeof option.shouldSample !== 'function')
    throw invalidOption('setupTracing', 'sampler', 'must be a number or an OpenTelemetry Sampler');
  return option;
}

/**
 * Installs OpenTelemetry tracing for a service: a tracer provider from
 * `@opentelemetry/sdk-trace-base` with the service's resource, the
 * AsyncLocalStorage context manager (so the active span follows `await`),
 * and the W3C trace-context + baggage propagators, all as the process's
 * globals. Call it once, first thing in `main.ts`; libraries (`@sluice/http`,
 * `@sluice/grpc`, messaging) create spans through `@opentelemetry/api` and
 * start recording once it has run. No auto-instrumentation: spans are
 * explicit (auto-instrumentation is unreliable under ESM).
 *
 * @throws SluiceError `invalid_argument` / `OBSERVABILITY_INVALID_OPTION` for a bad option;
 *   `already_exists` / `OBSERVABILITY_SDK_INSTALLED` when a previous setup was not shut down.
 * @example
 * ```ts
 * const tracing = setupTracing({ serviceName: 'order', exporter: jsonLinesSpanExporter() });
 * process.once('SIGTERM', () => void tracing.shutdown());
 * ```
 */
export function setupTracing(options: TracingOptions): Tracing {
  if (typeof options?.serviceName !== 'string' || options.serviceName.trim() === '')
    throw invalidOption('setupTracing', 'serviceName', 'must be a non-empty string');
  if (options.processor !== undefined && options.processor !== 'batch' && options.processor !== 'simple')
    throw invalidOption('setupTracing', 'processor', "must be 'batch' or 'simple'");
  const sampler = samplerOf(options.sampler);

  const resource = resourceFromAttributes({
    ...options.resourceAttributes,
    [ATTR_SERVICE_NAME]: options.serviceName,
    ...(options.serviceVersion === undefined ? {} : { [ATTR_SERVICE_VERSION]: options.serviceVersion }),
  });
  const spanProcessors: SpanProcessor[] = [];
  if (options.exporter) {
    const simple =
      options.processor === 'simple' ||
      (options.processor === undefined && options.exporter instanceof InMemorySpanExporter);
    spanProcessors.push(
      simple ? new SimpleSpanProcessor(options.exporter) : new BatchSpanProcessor(options.exporter),
    );
  }
  const provider = new BasicTracerProvider({ resource, sampler, spanProcessors });
  const contextManager = new AsyncLocalStorageContextManager().enable();

  // The OpenTelemetry globals are per process and the api refuses to replace
  // a registration (setGlobal* return false): a second setup is an error, not
  // a silent no-op that would leave spans going to the first provider.
  const propagator = new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  });
  const registered = trace.setGlobalTracerProvider(provider);
  if (!registered || !context.setGlobalContextManager(contextManager)) {
    if (registered) trace.disable();
    contextManager.disable();
    throw new SluiceError({
      code: 'already_exists',
      reason: ObservabilityReasons.OBSERVABILITY_SDK_INSTALLED,
      message:
        'setupTracing: an OpenTelemetry tracer provider is already installed in this process; shut it down first',
    });
  }
  propagation.setGlobalPropagator(propagator);

  let stopping: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(options.tracerName ?? options.serviceName),
    forceFlush: () => provider.forceFlush(),
    shutdown() {
      stopping ??= (async () => {
        try {
          await provider.shutdown();
        } finally {
          trace.disable();
          context.disable();
          propagation.disable();
        }
      })();
      return stopping;
    },
  };
}
