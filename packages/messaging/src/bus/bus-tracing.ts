import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/**
 * Tracing of the bus with the OpenTelemetry API only (no SDK): the producer
 * span's context travels in the message headers (`traceparent`,
 * `tracestate`, through whatever propagator the application registered —
 * W3C trace context with the standard SDK setup), and each handler runs in a
 * consumer span whose parent is that context. Attribute names follow the
 * OpenTelemetry messaging semantic conventions. Without an SDK every call
 * here is a no-op.
 */

/** `messaging.system` for each transport kind. */
const SYSTEM: Readonly<Record<string, string>> = {
  embedded: 'sqlite',
  postgres: 'postgresql',
  nats: 'nats',
  rabbitmq: 'rabbitmq',
};

/** The default tracer of the bus. */
export function defaultTracer(): Tracer {
  return trace.getTracer('@sluice/messaging');
}

/** Starts the producer span of a publish call to `topic`. */
export function startPublishSpan(tracer: Tracer, kind: string, topic: string, attributes: Attributes): Span {
  return tracer.startSpan(`publish ${topic}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': SYSTEM[kind] ?? kind,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': topic,
      ...attributes,
    },
  });
}

/** Writes the span's context into a header object (`traceparent`, `tracestate`), as the registered propagator does. */
export function injectHeaders(span: Span, headers: Record<string, string>): void {
  propagation.inject(trace.setSpan(context.active(), span), headers);
}

/**
 * Starts the consumer span of one delivery, a child of the producer's context
 * read from the headers (or, when the headers carry none, from the
 * envelope's own `traceparent` / `tracestate`).
 */
export function startProcessSpan(
  tracer: Tracer,
  kind: string,
  topic: string,
  group: string,
  carrier: Readonly<Record<string, string>>,
  attributes: Attributes,
): Span {
  const parent = propagation.extract(ROOT_CONTEXT, carrier);
  return tracer.startSpan(
    `process ${topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': SYSTEM[kind] ?? kind,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': topic,
        'messaging.consumer.group.name': group,
        ...attributes,
      },
    },
    parent,
  );
}

/** Runs `fn` with `span` as the active span (so the handler's own spans are its children). */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Ends a span as failed with the error recorded. */
export function endWithError(span: Span, error: unknown, message: string): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.end();
}
