import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { context, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  createMetrics,
  endSpan,
  extractTraceContext,
  InMemorySpanExporter,
  injectTraceContext,
  renderMetrics,
  runWithLogContext,
  setupTracing,
  type Tracing,
} from './index.js';

/** GETs `url` with the given headers over a fresh connection; resolves with status and body. */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** A traced outgoing call, written with only @opentelemetry/api and this package's helpers. */
async function tracedGet(
  tracer: Tracer,
  name: string,
  url: string,
): Promise<{ status: number; body: string }> {
  const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: { 'url.full': url } });
  const ctx = trace.setSpan(context.active(), span);
  try {
    const res = await get(url, injectTraceContext({}, { context: ctx }));
    span.setAttribute('http.response.status_code', res.status);
    endSpan(span);
    return res;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

/** A traced node:http server: extracts the caller's context and runs `handle` in a SERVER span. */
function tracedServer(
  tracer: Tracer,
  name: string,
  handle: (req: http.IncomingMessage) => Promise<string>,
): http.Server {
  return http.createServer((req, res) => {
    const parent = extractTraceContext(req.headers);
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
    const requestId = String(req.headers['x-request-id'] ?? 'none');
    context.with(trace.setSpan(parent, span), () =>
      runWithLogContext({ request_id: requestId }, () =>
        handle(req).then(
          (body) => {
            res.end(body);
            endSpan(span);
          },
          (error: unknown) => {
            res.statusCode = 500;
            res.end();
            endSpan(span, error);
          },
        ),
      ),
    );
  });
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

describe('a trace across two real node:http servers', () => {
  const exporter = new InMemorySpanExporter();
  const logLines: Record<string, unknown>[] = [];
  let tracing: Tracing;
  let serverA: http.Server;
  let serverB: http.Server;
  let urlA = '';

  beforeAll(async () => {
    // The batch processor (what a service uses), not the simple one: forceFlush must drain it.
    tracing = setupTracing({ serviceName: 'trace-test', exporter, processor: 'batch' });
    const sink = new PassThrough();
    sink.setEncoding('utf8');
    let buffered = '';
    sink.on('data', (chunk: string) => {
      buffered += chunk;
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        logLines.push(JSON.parse(buffered.slice(0, nl)));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
      }
    });
    const log = createLogger({ service: 'server-b', destination: sink });
    const metrics = createMetrics();
    const tracer = trace.getTracer('trace-test');

    serverB = tracedServer(tracer, 'GET /stock', async () => {
      log.info('stock checked');
      const done = metrics.startHttpTimer({ side: 'server', method: 'GET', route: '/stock' });
      done(200);
      return (await renderMetrics(metrics)).body.includes('route="/stock"') ? 'in stock' : 'no metrics';
    });
    const urlB = await listen(serverB);
    serverA = tracedServer(tracer, 'GET /order', async () => {
      const res = await tracedGet(tracer, 'GET stock', `${urlB}/stock`);
      return `order: ${res.body}`;
    });
    urlA = await listen(serverA);
  });

  afterAll(async () => {
    await new Promise((r) => serverA?.close(r));
    await new Promise((r) => serverB?.close(r));
    await tracing?.shutdown();
  });

  it('runs client → server A → client → server B in one trace with correct parents', async () => {
    const tracer = trace.getTracer('trace-test');
    const root = tracer.startSpan('checkout');
    const res = await context.with(trace.setSpan(context.active(), root), () =>
      tracedGet(tracer, 'GET order', `${urlA}/order`),
    );
    root.end();
    expect(res).toEqual({ status: 200, body: 'order: in stock' });

    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    const byName = new Map(spans.map((s) => [s.name, s]));
    const checkout = byName.get('checkout');
    const clientA = byName.get('GET order');
    const serverASpan = byName.get('GET /order');
    const clientB = byName.get('GET stock');
    const serverBSpan = byName.get('GET /stock');
    expect(spans).toHaveLength(5);
    for (const span of [checkout, clientA, serverASpan, clientB, serverBSpan]) expect(span).toBeDefined();

    const traceId = checkout!.spanContext().traceId;
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
    expect(checkout!.parentSpanContext).toBeUndefined();
    expect(clientA!.parentSpanContext?.spanId).toBe(checkout!.spanContext().spanId);
    expect(serverASpan!.parentSpanContext?.spanId).toBe(clientA!.spanContext().spanId);
    expect(serverASpan!.parentSpanContext?.isRemote).toBe(true);
    expect(clientB!.parentSpanContext?.spanId).toBe(serverASpan!.spanContext().spanId);
    expect(serverBSpan!.parentSpanContext?.spanId).toBe(clientB!.spanContext().spanId);
    expect([clientA!.kind, serverASpan!.kind, clientB!.kind, serverBSpan!.kind]).toEqual([
      SpanKind.CLIENT,
      SpanKind.SERVER,
      SpanKind.CLIENT,
      SpanKind.SERVER,
    ]);
    expect(serverBSpan!.resource.attributes['service.name']).toBe('trace-test');

    // Server B's log line carries the trace and its own span, as seen from inside the handler.
    const line = logLines.find((l) => l.msg === 'stock checked');
    expect(line).toMatchObject({
      level: 'info',
      service: 'server-b',
      trace_id: traceId,
      span_id: serverBSpan!.spanContext().spanId,
      request_id: 'none',
    });
  });

  it('keeps concurrent requests in separate traces', async () => {
    exporter.reset();
    const tracer = trace.getTracer('trace-test');
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => {
        const root = tracer.startSpan(`root-${i}`);
        return context
          .with(trace.setSpan(context.active(), root), () =>
            tracedGet(tracer, `GET order ${i}`, `${urlA}/order`),
          )
          .finally(() => root.end());
      }),
    );
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(8 * 5);
    const traces = new Map<string, number>();
    for (const s of spans)
      traces.set(s.spanContext().traceId, (traces.get(s.spanContext().traceId) ?? 0) + 1);
    expect([...traces.values()]).toEqual(Array(8).fill(5));
  });
});
