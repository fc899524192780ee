import { context } from '@opentelemetry/api';
import { isSluiceError, SluiceError } from '@sluice/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLines } from './capture.test-support.js';
import {
  createLogger,
  extractTraceContext,
  getLogContext,
  ObservabilityReasons,
  runWithLogContext,
  setupTracing,
  type Tracing,
} from './index.js';

/** One turn of the event loop (a macrotask hop, so the async context must survive it). */
const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('createLogger', () => {
  let tracing: Tracing;
  beforeAll(() => {
    tracing = setupTracing({ serviceName: 'logger-test' });
  });
  afterAll(() => tracing.shutdown());

  it('writes JSON lines with level word, ISO time, service and message', () => {
    const out = captureLines();
    const log = createLogger({ service: 'order', destination: out.stream, base: { version: '1.0.0' } });
    log.info({ orderId: 'o-1' }, 'order placed');
    expect(out.lines).toHaveLength(1);
    const [line] = out.lines;
    expect(line).toMatchObject({
      level: 'info',
      service: 'order',
      version: '1.0.0',
      orderId: 'o-1',
      msg: 'order placed',
    });
    expect(new Date(line?.time as string).toISOString()).toBe(line?.time);
    expect(line).not.toHaveProperty('trace_id');
  });

  it('adds trace_id and span_id of the active span', () => {
    const out = captureLines();
    const log = createLogger({ service: 'order', destination: out.stream });
    const ids = tracing.tracer.startActiveSpan('handle', (span) => {
      log.info('inside');
      span.end();
      return span.spanContext();
    });
    log.info('outside');
    expect(out.lines[0]).toMatchObject({
      msg: 'inside',
      trace_id: ids.traceId,
      span_id: ids.spanId,
      trace_flags: '01',
    });
    expect(out.lines[1]).toMatchObject({ msg: 'outside' });
    expect(out.lines[1]).not.toHaveProperty('trace_id');
  });

  it('carries the remote trace id of an incoming request', () => {
    const out = captureLines();
    const log = createLogger({ service: 'order', destination: out.stream });
    const parent = extractTraceContext({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00',
    });
    context.with(parent, () => log.warn('remote'));
    expect(out.lines[0]).toMatchObject({
      level: 'warn',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
      trace_flags: '00',
    });
  });

  it('adds request_id and correlation_id bound with runWithLogContext, across awaits, nested calls merging', async () => {
    const out = captureLines();
    const log = createLogger({ service: 'order', destination: out.stream });
    await runWithLogContext({ request_id: 'req-1' }, async () => {
      await tick();
      log.info('first');
      await runWithLogContext({ correlation_id: 'corr-9', attempt: 2 }, async () => {
        await Promise.resolve();
        expect(getLogContext()).toEqual({ request_id: 'req-1', correlation_id: 'corr-9', attempt: 2 });
        log.info('nested');
      });
      log.info('after');
    });
    // Two flows at once do not see each other's fields.
    await Promise.all(
      ['a', 'b'].map((id) =>
        runWithLogContext({ request_id: id }, async () => {
          await tick();
          if (id === 'a') await tick();
          log.info(`flow ${id}`);
        }),
      ),
    );
    const by = new Map(out.lines.map((l) => [l.msg, l]));
    expect(by.get('first')).toMatchObject({ request_id: 'req-1' });
    expect(by.get('first')).not.toHaveProperty('correlation_id');
    expect(by.get('nested')).toMatchObject({ request_id: 'req-1', correlation_id: 'corr-9', attempt: 2 });
    expect(by.get('after')).not.toHaveProperty('correlation_id');
    expect(by.get('flow a')).toMatchObject({ request_id: 'a' });
    expect(by.get('flow b')).toMatchObject({ request_id: 'b' });
    expect(getLogContext()).toEqual({});
  });

  it("keeps a SluiceError's code, reason and details when logged as err", () => {
    const out = captureLines();
    const log = createLogger({ service: 'order', destination: out.stream });
    const err = new SluiceError({
      code: 'failed_precondition',
      reason: 'INVENTORY_INSUFFICIENT_STOCK',
      message: 'only 2 left',
      details: { metadata: { productId: 'sku-1' } },
    });
    log.error({ err }, 'reservation failed');
    expect(out.lines[0]).toMatchObject({
      level: 'error',
      msg: 'reservation failed',
      err: {
        type: 'SluiceError',
        message: 'only 2 left',
        code: 'failed_precondition',
        reason: 'INVENTORY_INSUFFICIENT_STOCK',
        details: { metadata: { productId: 'sku-1' } },
      },
    });
    expect(typeof (out.lines[0]!.err as { stack?: unknown }).stack).toBe('string');
  });

  it('filters by level and censors redacted paths', () => {
    const out = captureLines();
    const log = createLogger({
      service: 'order',
      level: 'warn',
      destination: out.stream,
      redact: ['headers.authorization'],
    });
    log.info('dropped');
    log.debug('dropped too');
    log.warn({ headers: { authorization: 'Bearer secret', accept: 'json' } }, 'kept');
    expect(out.lines.map((l) => l.msg)).toEqual(['kept']);
    expect(out.lines[0]?.headers).toEqual({ authorization: '[Redacted]', accept: 'json' });
  });

  it('rejects an empty service or an unknown level', () => {
    for (const bad of [
      () => createLogger({ service: '' }),
      () => createLogger({ service: 'x', level: 'verbose' as 'info' }),
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
