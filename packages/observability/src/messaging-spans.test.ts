import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isSluiceError, SluiceError } from '@sluice/errors';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  InMemorySpanExporter,
  MessagingAttributes,
  ObservabilityReasons,
  setupTracing,
  startConsumerSpan,
  startProducerSpan,
  type Tracing,
  withConsumerSpan,
  withProducerSpan,
} from './index.js';

describe('messaging spans', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  beforeAll(() => {
    tracing = setupTracing({ serviceName: 'messaging-test', exporter });
  });
  afterAll(() => tracing.shutdown());
  beforeEach(() => exporter.reset());

  const finished = async () => {
    await tracing.forceFlush();
    return new Map(exporter.getFinishedSpans().map((s) => [s.name, s]));
  };

  it('starts a PRODUCER span with the messaging attributes and returns the headers to send', async () => {
    const { span, headers } = tracing.tracer.startActiveSpan('POST /orders', (request) => {
      const produced = startProducerSpan({
        system: 'rabbitmq',
        destination: 'orders',
        messageId: 'evt-1',
        conversationId: 'corr-1',
      });
      request.end();
      return produced;
    });
    span.end();
    const spans = await finished();
    const producer = spans.get('publish orders');
    expect(producer?.kind).toBe(SpanKind.PRODUCER);
    expect(producer?.attributes).toEqual({
      [MessagingAttributes.SYSTEM]: 'rabbitmq',
      [MessagingAttributes.DESTINATION_NAME]: 'orders',
      [MessagingAttributes.OPERATION_TYPE]: 'publish',
      [MessagingAttributes.OPERATION_NAME]: 'publish',
      [MessagingAttributes.MESSAGE_ID]: 'evt-1',
      [MessagingAttributes.CONVERSATION_ID]: 'corr-1',
    });
    expect(producer?.parentSpanContext?.spanId).toBe(spans.get('POST /orders')?.spanContext().spanId);
    expect(headers).toEqual({
      traceparent: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
    });
  });

  it('parents the CONSUMER span on the message by default, and links it too', async () => {
    const { span: producer, headers } = startProducerSpan({ system: 'nats', destination: 'orders.placed' });
    producer.end();
    // The message crosses a "broker": only its headers travel, as strings.
    const message = { id: 'evt-2', headers: JSON.parse(JSON.stringify(headers)) as Record<string, string> };
    const handled = await withConsumerSpan(
      {
        system: 'nats',
        destination: 'orders.placed',
        messageId: message.id,
        headers: message.headers,
        consumerGroup: 'payment',
      },
      async () => trace.getActiveSpan()?.spanContext(),
    );
    const spans = await finished();
    const consumer = spans.get('process orders.placed');
    expect(consumer?.kind).toBe(SpanKind.CONSUMER);
    expect(consumer?.spanContext().traceId).toBe(producer.spanContext().traceId);
    expect(consumer?.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer?.links.map((l) => l.context.spanId)).toEqual([producer.spanContext().spanId]);
    expect(consumer?.attributes[MessagingAttributes.CONSUMER_GROUP]).toBe('payment');
    expect(consumer?.attributes[MessagingAttributes.OPERATION_TYPE]).toBe('process');
    // The handler ran inside the consumer span.
    expect(handled?.spanId).toBe(consumer?.spanContext().spanId);
  });

  it("in 'link' mode starts under the active context and only links to the message", async () => {
    const { span: producer, headers } = startProducerSpan({ system: 'sqlite', destination: 'email.send' });
    producer.end();
    const { span } = startConsumerSpan({
      system: 'sqlite',
      destination: 'email.send',
      headers,
      parenting: 'link',
    });
    span.end();
    const consumer = (await finished()).get('process email.send');
    expect(consumer?.spanContext().traceId).not.toBe(producer.spanContext().traceId);
    expect(consumer?.parentSpanContext).toBeUndefined();
    expect(consumer?.links[0]?.context).toMatchObject({
      traceId: producer.spanContext().traceId,
      spanId: producer.spanContext().spanId,
    });
  });

  it('gives a message without (or with a broken) traceparent a span with no link', async () => {
    // The messaging transports' delivery headers are Readonly<Record<string, string>>.
    const broken: Readonly<Record<string, string>> = { traceparent: 'not-a-traceparent' };
    for (const headers of [undefined, {}, broken]) {
      exporter.reset();
      const { span } = startConsumerSpan({
        system: 'rabbitmq',
        destination: 'q',
        ...(headers ? { headers } : {}),
      });
      span.end();
      const consumer = (await finished()).get('process q');
      expect(consumer?.parentSpanContext).toBeUndefined();
      expect(consumer?.links).toEqual([]);
    }
    // Inside an active span with no message context: a child of that span, no link.
    await tracing.tracer.startActiveSpan('poll', async (poll) => {
      startConsumerSpan({ system: 'rabbitmq', destination: 'q2', headers: { baggage: 'a=b' } }).span.end();
      poll.end();
    });
    const spans = await finished();
    expect(spans.get('process q2')?.parentSpanContext?.spanId).toBe(spans.get('poll')?.spanContext().spanId);
    expect(spans.get('process q2')?.links).toEqual([]);
  });

  it('records a failing publish or handler on the span and rethrows', async () => {
    const down = new SluiceError({ code: 'unavailable', reason: 'TEST_BROKER_DOWN', message: 'broker down' });
    await expect(
      withProducerSpan({ system: 'rabbitmq', destination: 'orders' }, async (headers) => {
        expect(headers.traceparent).toBeDefined();
        throw down;
      }),
    ).rejects.toBe(down);
    await expect(
      withConsumerSpan({ system: 'rabbitmq', destination: 'orders' }, () => {
        throw new TypeError('bad payload');
      }),
    ).rejects.toThrow('bad payload');
    expect(
      await withProducerSpan({ system: 'rabbitmq', destination: 'ok', operation: 'send' }, () => 42),
    ).toBe(42);
    const spans = await finished();
    expect(spans.get('publish orders')?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'broker down',
    });
    expect(spans.get('publish orders')?.attributes).toMatchObject({
      'error.type': 'unavailable',
      'sluice.error.reason': 'TEST_BROKER_DOWN',
    });
    expect(spans.get('process orders')?.attributes['error.type']).toBe('TypeError');
    expect(spans.get('send ok')?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('rejects an empty system or destination with invalid_argument', () => {
    for (const bad of [
      () => startProducerSpan({ system: '', destination: 'x' }),
      () => startProducerSpan({ system: 'x', destination: '' }),
      () => startConsumerSpan({ system: 'x', destination: undefined as unknown as string }),
    ]) {
      let error: unknown;
      try {
        bad();
      } catch (e) {
        error = e;
      }
      expect(isSluiceError(error) && error.reason).toBe(ObservabilityReasons.OBSERVABILITY_INVALID_OPTION);
    }
  });
});
