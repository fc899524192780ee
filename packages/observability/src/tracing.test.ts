import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { isSluiceError, SluiceError } from '@sluice/errors';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLines } from './capture.test-support.js';
import {
  endSpan,
  InMemorySpanExporter,
  jsonLinesSpanExporter,
  ObservabilityReasons,
  setupTracing,
  type Tracing,
  traceHeaders,
} from './index.js';

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isSluiceError(error) ? `${error.code}/${error.reason}` : `not a SluiceError: ${String(error)}`;
  }
  return undefined;
}

/** One turn of the event loop (a macrotask hop, so the async context must survive it). */
const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('setupTracing', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  it('records spans with the service resource and exports them on forceFlush', async () => {
    const exporter = new InMemorySpanExporter();
    tracing = setupTracing({
      serviceName: 'order',
      serviceVersion: '1.2.3',
      resourceAttributes: { 'deployment.environment.name': 'test' },
      exporter,
    });
    tracing.tracer.startActiveSpan('work', (span) => span.end());
    await tracing.forceFlush();
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('work');
    expect(span?.resource.attributes).toMatchObject({
      'service.name': 'order',
      'service.version': '1.2.3',
      'deployment.environment.name': 'test',
    });
    expect(span?.instrumentationScope.name).toBe('order');
  });

  it('keeps the active span across awaits and timers (AsyncLocalStorage context manager)', async () => {
    tracing = setupTracing({ serviceName: 'ctx' });
    const seen = await tracing.tracer.startActiveSpan('outer', async (span) => {
      await tick();
      await new Promise<void>((resolve) => setImmediate(resolve));
      const inside = trace.getActiveSpan()?.spanContext().spanId;
      span.end();
      return { inside, expected: span.spanContext().spanId };
    });
    expect(seen.inside).toBe(seen.expected);
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it('installs the W3C trace-context and baggage propagators', () => {
    tracing = setupTracing({ serviceName: 'prop' });
    const span = tracing.tracer.startSpan('s');
    const bag = propagation.createBaggage({ tenant: { value: 'acme' } });
    const ctx = propagation.setBaggage(trace.setSpan(context.active(), span), bag);
    const headers = traceHeaders(ctx);
    span.end();
    expect(headers.traceparent).toMatch(TRACEPARENT);
    expect(headers.traceparent).toContain(span.spanContext().traceId);
    expect(headers.baggage).toBe('tenant=acme');
  });

  it('samples a ratio of new traces and lets children follow their parent', async () => {
    const exporter = new InMemorySpanExporter();
    tracing = setupTracing({ serviceName: 'sampled', exporter, sampler: 0 });
    const root = tracing.tracer.startSpan('root');
    expect(root.isRecording()).toBe(false);
    const headers = traceHeaders(trace.setSpan(context.active(), root));
    expect(headers.traceparent).toMatch(/-00$/);
    root.end();
    // A sampled remote parent is followed even at ratio 0.
    const remote = propagation.extract(context.active(), {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    tracing.tracer.startSpan('child', {}, remote).end();
    await tracing.forceFlush();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['child']);
  });

  it('refuses a second setup until the first is shut down, then accepts one', async () => {
    tracing = setupTracing({ serviceName: 'first' });
    expect(reasonOf(() => setupTracing({ serviceName: 'second' }))).toBe(
      `already_exists/${ObservabilityReasons.OBSERVABILITY_SDK_INSTALLED}`,
    );
    // The first setup is untouched by the refused one.
    expect(tracing.tracer.startSpan('still').isRecording()).toBe(true);
    await tracing.shutdown();
    await tracing.shutdown(); // idempotent
    expect(trace.getTracer('x').startSpan('after').isRecording()).toBe(false);
    tracing = setupTracing({ serviceName: 'second' });
    expect(trace.getTracer('x').startSpan('again').isRecording()).toBe(true);
  });

  it('rejects bad options with invalid_argument and installs nothing', () => {
    const bad = [
      () => setupTracing({ serviceName: '' }),
      () => setupTracing({ serviceName: '  ' }),
      () => setupTracing(undefined as unknown as { serviceName: string }),
      () => setupTracing({ serviceName: 'x', sampler: 1.5 }),
      () => setupTracing({ serviceName: 'x', sampler: Number.NaN }),
      () => setupTracing({ serviceName: 'x', processor: 'eager' as 'batch' }),
      () => setupTracing({ serviceName: 'x', sampler: {} as never }),
    ];
    for (const fn of bad) {
      expect(reasonOf(fn)).toBe(`invalid_argument/${ObservabilityReasons.OBSERVABILITY_INVALID_OPTION}`);
    }
    let error: unknown;
    try {
      setupTracing({ serviceName: 'x', sampler: -1 });
    } catch (e) {
      error = e;
    }
    expect((error as SluiceError).details?.violations).toEqual([
      { field: 'sampler', message: 'must be a ratio in [0, 1]' },
    ]);
    expect(trace.getTracer('x').startSpan('none').isRecording()).toBe(false);
  });
});

describe('jsonLinesSpanExporter', () => {
  it('writes one JSON line per span with ids, parent, kind, status and links', async () => {
    const out = captureLines();
    const tracing = setupTracing({
      serviceName: 'jsonl',
      exporter: jsonLinesSpanExporter({ destination: out.stream }),
    });
    try {
      const parent = tracing.tracer.startSpan('parent', { kind: SpanKind.SERVER });
      const child = tracing.tracer.startSpan(
        'child',
        {
          kind: SpanKind.CLIENT,
          attributes: { 'url.full': 'http://x/y' },
          links: [{ context: parent.spanContext() }],
        },
        trace.setSpan(context.active(), parent),
      );
      endSpan(child, new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN', message: 'down' }));
      parent.end();
      await tracing.forceFlush();
    } finally {
      await tracing.shutdown();
    }
    const [child, parent] = out.lines;
    expect(parent).toMatchObject({ name: 'parent', kind: 'server', status: 'unset', service: 'jsonl' });
    expect(parent).not.toHaveProperty('parent_span_id');
    expect(child).toMatchObject({
      name: 'child',
      kind: 'client',
      trace_id: parent?.trace_id,
      parent_span_id: parent?.span_id,
      status: 'error',
      status_message: 'down',
      attributes: {
        'url.full': 'http://x/y',
        'error.type': 'unavailable',
        'sluice.error.reason': 'TEST_DOWN',
      },
      links: [{ trace_id: parent?.trace_id, span_id: parent?.span_id }],
    });
    expect((child!.events as { name: string }[]).map((e) => e.name)).toEqual(['exception']);
    expect(child?.duration_us).toBeGreaterThanOrEqual(0);
  });

  it('fails exports after shutdown instead of writing', async () => {
    const out = captureLines();
    const exporter = jsonLinesSpanExporter({ destination: out.stream });
    await exporter.shutdown();
    const result = await new Promise<{ code: number }>((resolve) => exporter.export([], resolve));
    expect(result.code).not.toBe(0);
    expect(out.lines).toEqual([]);
  });
});
