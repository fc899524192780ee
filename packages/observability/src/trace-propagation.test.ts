import { Metadata } from '@grpc/grpc-js';
import { context, propagation, trace } from '@opentelemetry/api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  currentTraceIds,
  extractTraceContext,
  injectTraceContext,
  setupTracing,
  type Tracing,
  traceHeaders,
} from './index.js';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;

describe('trace propagation without an SDK (what a library sees before setupTracing)', () => {
  it('injects nothing and extracts no parent', () => {
    expect(injectTraceContext({})).toEqual({});
    const ctx = extractTraceContext({ traceparent: TP });
    expect(trace.getSpan(ctx)).toBeUndefined();
    expect(currentTraceIds()).toBeUndefined();
  });
});

describe('injectTraceContext / extractTraceContext', () => {
  let tracing: Tracing;
  beforeAll(() => {
    tracing = setupTracing({ serviceName: 'propagation' });
  });
  afterAll(() => tracing.shutdown());

  it('reads node-style headers: lower-case, arrays, and other casings of message headers', () => {
    for (const carrier of [
      { traceparent: TP },
      { traceparent: [TP, 'ignored'] },
      { Traceparent: TP },
      { TRACEPARENT: TP, 'content-type': 'application/json' },
    ]) {
      const sc = trace.getSpan(extractTraceContext(carrier))?.spanContext();
      expect(sc).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' });
      expect(sc?.isRemote).toBe(true);
    }
  });

  it('works with Map-like carriers (Map, fetch Headers, grpc-js Metadata returning arrays)', () => {
    const map = new Map<string, string>();
    const span = tracing.tracer.startSpan('s');
    injectTraceContext(map, { context: trace.setSpan(context.active(), span) });
    expect(map.get('traceparent')).toMatch(TRACEPARENT);
    const headers = new Headers();
    injectTraceContext(headers, { context: trace.setSpan(context.active(), span) });
    expect(headers.get('traceparent')).toBe(map.get('traceparent'));
    const metadata = new Metadata();
    injectTraceContext(metadata, { context: trace.setSpan(context.active(), span) });
    expect(metadata.get('traceparent')).toEqual([map.get('traceparent')]);
    const back = trace.getSpan(extractTraceContext(metadata))?.spanContext();
    expect(back?.spanId).toBe(span.spanContext().spanId);
    span.end();
  });

  it('round-trips any valid traceparent and tracestate', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    fc.assert(
      fc.property(
        hex(32).filter((s) => !/^0+$/.test(s)),
        hex(16).filter((s) => !/^0+$/.test(s)),
        fc.boolean(),
        fc.constantFrom(undefined, 'vendor=abc', 'a=1,b=2'),
        (traceId, spanId, sampled, tracestate) => {
          const incoming = {
            traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`,
            ...(tracestate ? { tracestate } : {}),
          };
          const out = traceHeaders(extractTraceContext(incoming));
          expect(out).toEqual(incoming);
        },
      ),
    );
  });

  it('never throws on malformed headers and never yields an invalid parent', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.stringMatching(/^[0-9a-f-]{0,60}$/),
          fc.constantFrom(
            '00-00000000000000000000000000000000-b7ad6b7169203331-01',
            '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
            'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
            '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
            '',
          ),
        ),
        fc.option(fc.string(), { nil: undefined }),
        (traceparent, tracestate) => {
          const carrier = {
            traceparent,
            ...(tracestate === undefined ? {} : { tracestate, baggage: tracestate }),
          };
          const span = trace.getSpan(extractTraceContext(carrier));
          if (span !== undefined) {
            expect(trace.isSpanContextValid(span.spanContext())).toBe(true);
            expect(traceHeaders(extractTraceContext(carrier)).traceparent).toMatch(TRACEPARENT);
          }
        },
      ),
      { numRuns: 500 },
    );
    for (const bad of [
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'garbage',
    ]) {
      expect(trace.getSpan(extractTraceContext({ traceparent: bad }))).toBeUndefined();
    }
  });

  it('gives a message its trace headers and the current ids', () => {
    expect(traceHeaders()).toEqual({});
    tracing.tracer.startActiveSpan('publish', (span) => {
      const ids = currentTraceIds();
      expect(ids).toEqual({
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        sampled: true,
      });
      const ctx = propagation.setBaggage(context.active(), propagation.createBaggage({ k: { value: 'v' } }));
      expect(traceHeaders(ctx)).toEqual({
        traceparent: `00-${ids?.traceId}-${ids?.spanId}-01`,
        baggage: 'k=v',
      });
      span.end();
    });
  });
});
