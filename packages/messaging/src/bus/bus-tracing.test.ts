import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createShopEventRegistry, type EventEnvelope } from '@sluice/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../conformance/conformance-helpers.js';
import { tempEmbedded } from '../embedded/temp-transport.test-support.js';
import { createBus } from './bus.js';

describe('bus tracing', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();

  beforeAll(() => {
    context.setGlobalContextManager(contextManager.enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(() => {
    propagation.disable();
    context.disable();
  });

  it('carries the producer span to the consumer in traceparent (headers and envelope), with messaging attributes', async () => {
    const env = await tempEmbedded();
    const tracer = provider.getTracer('test');
    const bus = await createBus({
      transport: env.transport,
      source: 'order',
      registry: createShopEventRegistry(),
      tracer,
    });
    const got: Array<{
      event: EventEnvelope;
      headers: Readonly<Record<string, string>>;
      active: string | undefined;
    }> = [];
    await bus.subscribe('notification.sent', { group: 'audit' }, async (event, ctx) => {
      got.push({ event, headers: ctx.headers, active: trace.getActiveSpan()?.spanContext().spanId });
    });
    const event = bus.event({
      type: 'notification.sent',
      data: { messageId: 'm-1', to: 'a@example.com', templateId: 't' },
    });
    const root = tracer.startSpan('place order');
    await context.with(trace.setSpan(context.active(), root), () =>
      bus.publish(event, { orderingKey: 'o-1' }),
    );
    root.end();
    await waitFor('the delivery', () => got.length === 1);
    await bus.close();
    await env.dispose();
    await provider.forceFlush();

    const spans = exporter.getFinishedSpans();
    const producer = spans.find((s) => s.name === 'publish notification.sent');
    const consumer = spans.find((s) => s.name === 'process notification.sent');
    expect(producer?.kind).toBe(SpanKind.PRODUCER);
    expect(consumer?.kind).toBe(SpanKind.CONSUMER);
    const traceId = root.spanContext().traceId;
    expect(producer?.spanContext().traceId).toBe(traceId);
    expect(producer?.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(consumer?.spanContext().traceId).toBe(traceId);
    expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    expect(producer?.attributes).toMatchObject({
      'messaging.system': 'sqlite',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'notification.sent',
      'messaging.message.id': event.id,
    });
    expect(consumer?.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.consumer.group.name': 'audit',
      'messaging.message.id': event.id,
      'messaging.message.conversation_id': event.correlationid,
    });
    const first = got[0];
    const tp = `00-${traceId}-${producer?.spanContext().spanId}-01`;
    expect(first?.headers.traceparent).toBe(tp);
    expect(first?.event.traceparent).toBe(tp);
    // The handler ran inside the consumer span.
    expect(first?.active).toBe(consumer?.spanContext().spanId);
  });
});
