import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { circuitBreaker, pipeline, retry, timeout } from '@sluice/resilience';
import { describe, expect, it } from 'vitest';
import { captureLines } from './capture.test-support.js';
import {
  bindQueueMetrics,
  bindResilienceMetrics,
  createLogger,
  createMetrics,
  InMemorySpanExporter,
  jsonLinesSpanExporter,
  metricsHandler,
  renderMetrics,
  runWithLogContext,
  setupTracing,
  startProducerSpan,
  withConsumerSpan,
} from './index.js';

// Each test is a README example, with only the output captured and an ephemeral port.
describe('README', () => {
  it("runs the main.ts example: tracing, logs with trace and request ids, metrics with a breaker's state", async () => {
    const spanLines = captureLines();
    const logLines = captureLines();

    const tracing = setupTracing({
      serviceName: 'order',
      serviceVersion: '1.4.0',
      exporter: jsonLinesSpanExporter({ destination: spanLines.stream }),
    });
    const log = createLogger({ service: 'order', level: 'info', destination: logLines.stream });
    const metrics = createMetrics({ defaultLabels: { service: 'order' } });
    const inventoryBreaker = circuitBreaker({ name: 'inventory' });
    bindResilienceMetrics(metrics, 'inventory', inventoryBreaker);
    const metricsServer = http.createServer(metricsHandler(metrics)).listen(0, '127.0.0.1');
    await new Promise((resolve) => metricsServer.once('listening', resolve));

    await tracing.tracer.startActiveSpan('POST /api/v1/orders', (span) =>
      runWithLogContext({ request_id: 'req-42' }, async () => {
        log.info({ orderId: 'o-1' }, 'order placed');
        span.end();
      }),
    );

    const scraped = await new Promise<string>((resolve, reject) => {
      const port = (metricsServer.address() as AddressInfo).port;
      http
        .get(`http://127.0.0.1:${port}/metrics`, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString('utf8');
          });
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    // What the SIGTERM handler does.
    metricsServer.close();
    await tracing.shutdown();

    const [span] = spanLines.lines;
    expect(span).toMatchObject({ name: 'POST /api/v1/orders', kind: 'internal', service: 'order' });
    expect(logLines.lines[0]).toMatchObject({
      level: 'info',
      service: 'order',
      request_id: 'req-42',
      trace_id: span?.trace_id,
      span_id: span?.span_id,
      trace_flags: '01',
      orderId: 'o-1',
      msg: 'order placed',
    });
    expect(scraped).toContain(
      'sluice_circuit_breaker_state{name="inventory",policy="inventory",state="closed",service="order"} 1',
    );
  });

  it('runs the tracing example with an in-memory exporter', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = setupTracing({ serviceName: 'test', exporter });
    tracing.tracer.startSpan('code under test').end();
    await tracing.forceFlush();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['code under test']);
    await tracing.shutdown();
  });

  it('runs the messaging spans example', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = setupTracing({ serviceName: 'test', exporter });
    const event = { id: 'evt-1' };
    const { span, headers } = startProducerSpan({
      system: 'rabbitmq',
      destination: 'orders',
      messageId: event.id,
    });
    span.end();
    const msg = { id: event.id, headers };
    const handle = async (m: typeof msg) => m.id;
    await withConsumerSpan(
      {
        system: 'rabbitmq',
        destination: 'orders',
        messageId: msg.id,
        headers: msg.headers,
        consumerGroup: 'payment',
      },
      () => handle(msg),
    );
    await tracing.forceFlush();
    const [producer, consumer] = exporter.getFinishedSpans();
    expect([producer?.name, consumer?.name]).toEqual(['publish orders', 'process orders']);
    expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    await tracing.shutdown();
  });

  it('runs the metrics example', async () => {
    const paymentPipeline = pipeline(circuitBreaker({ name: 'payment-breaker' }), retry(), timeout(1_000));
    const queue = { stats: async () => [{ queue: 'email.send', depth: 3, inFlight: 1, deadLetters: 0 }] };

    const metrics = createMetrics({ defaultLabels: { service: 'inventory' } });
    const done = metrics.startHttpTimer({ side: 'server', method: 'GET', route: '/api/v1/inventory/:id' });
    done(200);
    bindResilienceMetrics(metrics, 'payment', paymentPipeline);
    bindQueueMetrics(metrics, { system: 'postgresql', collect: () => queue.stats() });

    const { body } = await renderMetrics(metrics);
    expect(body).toContain(
      'sluice_http_requests_total{side="server",method="GET",route="/api/v1/inventory/:id",status="200",service="inventory"} 1',
    );
    expect(body).toContain('sluice_retry_retries_total{name="payment",policy="retry",service="inventory"} 0');
    expect(body).toContain(
      'sluice_queue_depth{system="postgresql",queue="email.send",service="inventory"} 3',
    );
  });
});
