import { randomUUID } from 'node:crypto';
import { connect as natsConnect, headers as natsHeaders } from '@nats-io/transport-node';
import { trace } from '@opentelemetry/api';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLines } from './capture.test-support.js';
import {
  createLogger,
  InMemorySpanExporter,
  type ReadableSpan,
  setupTracing,
  type Tracing,
  withConsumerSpan,
  withProducerSpan,
} from './index.js';

// The local brokers every helper shares (names are unique per run, removed afterwards).
const NATS = process.env.SLUICE_TEST_NATS ?? 'nats://127.0.0.1:4222';
const AMQP = process.env.SLUICE_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Asserts request → publish → (broker) → process is one trace, each span parented on the previous one. */
function expectOneChain(spans: ReadableSpan[], request: string, publish: string, process: string): void {
  const by = new Map(spans.map((s) => [s.name, s]));
  const [root, producer, consumer] = [by.get(request), by.get(publish), by.get(process)];
  expect(root && producer && consumer).toBeTruthy();
  expect(producer?.spanContext().traceId).toBe(root?.spanContext().traceId);
  expect(consumer?.spanContext().traceId).toBe(root?.spanContext().traceId);
  expect(producer?.parentSpanContext?.spanId).toBe(root?.spanContext().spanId);
  expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
  expect(consumer?.parentSpanContext?.isRemote).toBe(true);
  expect(consumer?.links[0]?.context.spanId).toBe(producer?.spanContext().spanId);
}

describe('messaging spans across real brokers', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  beforeAll(() => {
    tracing = setupTracing({ serviceName: 'broker-trace', exporter });
  });
  afterAll(() => tracing.shutdown());

  it('carries the trace through NATS message headers (a get/set carrier)', async () => {
    exporter.reset();
    const subject = `obs-test.${randomUUID()}.orders`;
    const out = captureLines();
    const log = createLogger({ service: 'payment', destination: out.stream });
    const pub = await natsConnect({ servers: NATS });
    const sub = await natsConnect({ servers: NATS });
    try {
      const subscription = sub.subscribe(subject, { max: 1 });
      await sub.flush();
      const consumed = (async () => {
        for await (const m of subscription) {
          await withConsumerSpan(
            {
              system: 'nats',
              destination: m.subject,
              messageId: m.headers?.get('message-id') ?? '',
              headers: m.headers ?? {},
            },
            async () => log.info({ body: m.string() }, 'charged'),
          );
        }
      })();
      await tracing.tracer.startActiveSpan('POST /orders', async (request) => {
        await withProducerSpan(
          { system: 'nats', destination: subject, messageId: 'evt-1' },
          async (trace) => {
            const h = natsHeaders();
            h.set('message-id', 'evt-1');
            for (const [k, v] of Object.entries(trace)) h.set(k, v);
            pub.publish(subject, 'order o-1', { headers: h });
            await pub.flush();
          },
        );
        request.end();
      });
      await consumed;
    } finally {
      await pub.close();
      await sub.close();
    }
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    expectOneChain(spans, 'POST /orders', `publish ${subject}`, `process ${subject}`);
    const consumer = spans.find((s) => s.name === `process ${subject}`);
    expect(consumer?.attributes['messaging.message.id']).toBe('evt-1');
    expect(out.lines[0]).toMatchObject({
      msg: 'charged',
      body: 'order o-1',
      trace_id: consumer?.spanContext().traceId,
      span_id: consumer?.spanContext().spanId,
    });
  });

  it('carries the trace through RabbitMQ message headers (an AMQP table)', async () => {
    exporter.reset();
    const queue = `obs-test.${randomUUID()}`;
    const conn = await amqp.connect(AMQP);
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue(queue, { durable: false, autoDelete: false });
      try {
        await tracing.tracer.startActiveSpan('POST /orders', async (request) => {
          await withProducerSpan(
            { system: 'rabbitmq', destination: queue, messageId: 'evt-2' },
            async (headers) => {
              ch.sendToQueue(queue, Buffer.from('order o-2'), { headers, messageId: 'evt-2' });
            },
          );
          request.end();
        });
        // Bounded poll for the one message (a real broker: delivery is asynchronous).
        let msg: amqp.GetMessage | false = false;
        for (let i = 0; i < 200 && !msg; i++) {
          msg = await ch.get(queue, { noAck: true });
          if (!msg) await new Promise((resolve) => setTimeout(resolve, 25));
        }
        if (!msg) throw new Error('the message never arrived');
        const received = msg;
        const seen = await withConsumerSpan(
          {
            system: 'rabbitmq',
            destination: queue,
            messageId: String(received.properties.messageId),
            headers: received.properties.headers ?? {},
          },
          async () => trace.getActiveSpan()?.spanContext().traceId,
        );
        expect(seen).toBeDefined();
      } finally {
        await ch.deleteQueue(queue);
      }
    } finally {
      await conn.close();
    }
    await tracing.forceFlush();
    expectOneChain(exporter.getFinishedSpans(), 'POST /orders', `publish ${queue}`, `process ${queue}`);
  });
});
