import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from './http.test-support.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import { createHttpServer, type HttpServer } from './http-server.js';

describe('tracing', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let serverA: HttpServer;
  let serverB: HttpServer;
  let toA: HttpClient;
  let toB: HttpClient;

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);

    serverB = await createHttpServer();
    serverB.get('/stock/:sku', async (request) => ({
      sku: (request.params as { sku: string }).sku,
      available: 3,
    }));
    toB = createHttpClient({ origin: await listen(serverB), caller: 'a' });

    serverA = await createHttpServer();
    serverA.post('/orders', async (_request, reply) => {
      const stock = await toB.get<{ available: number }>('/stock/sku-1');
      return reply.code(201).send({ available: stock.body.available });
    });
    toA = createHttpClient({ origin: await listen(serverA), caller: 'test' });
  });

  afterAll(async () => {
    await toA.close();
    await toB.close();
    await serverA.close();
    await serverB.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('runs one trace client → server A → client → server B over real servers', async () => {
    exporter.reset();
    const res = await toA.post('/orders', { sku: 'sku-1' });
    expect(res.status).toBe(201);
    // Server spans end on onResponse, which may run just after the client has the response.
    for (let i = 0; i < 200 && exporter.getFinishedSpans().length < 4; i++)
      await new Promise((r) => setTimeout(r, 5));
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(4);

    const clientA = spans.find(
      (s) => s.kind === SpanKind.CLIENT && s.attributes['url.full']?.toString().endsWith('/orders'),
    );
    const serverASpan = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'POST /orders');
    const clientB = spans.find(
      (s) => s.kind === SpanKind.CLIENT && s.attributes['url.full']?.toString().endsWith('/stock/sku-1'),
    );
    const serverBSpan = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'GET /stock/:sku');
    expect(clientA && serverASpan && clientB && serverBSpan).toBeTruthy();
    if (!clientA || !serverASpan || !clientB || !serverBSpan) return;

    const traceId = clientA.spanContext().traceId;
    for (const s of spans) expect(s.spanContext().traceId).toBe(traceId);
    expect(clientA.parentSpanContext).toBeUndefined();
    expect(serverASpan.parentSpanContext?.spanId).toBe(clientA.spanContext().spanId);
    expect(clientB.parentSpanContext?.spanId).toBe(serverASpan.spanContext().spanId);
    expect(serverBSpan.parentSpanContext?.spanId).toBe(clientB.spanContext().spanId);
    expect(serverASpan.attributes).toMatchObject({
      'http.route': '/orders',
      'http.response.status_code': 201,
    });
    expect(clientB.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
    });
  });

  it('marks failed calls on the client span', async () => {
    exporter.reset();
    await toA.get('/missing').catch(() => {});
    await provider.forceFlush();
    const client = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT);
    expect(client?.status.code).toBe(2); // ERROR
    expect(client?.attributes['http.response.status_code']).toBe(404);
  });
});
