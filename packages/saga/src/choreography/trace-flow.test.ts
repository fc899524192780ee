import { createEnvelope, type EventEnvelope } from '@sluice/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { followUp } from './follow-up.js';
import type { FlowRecord } from './ports.js';
import { traceFlow } from './trace-flow.js';

const T0 = Date.UTC(2026, 0, 1);
const source = (records: readonly FlowRecord[]) => ({
  listByCorrelation: async (id: string) => records.filter((r) => r.event.correlationid === id),
});

describe('traceFlow', () => {
  it('rebuilds the ordered chain of an order with services, timings and consumers', async () => {
    const placed = createEnvelope({
      type: 'order.placed',
      source: 'order',
      subject: 'o-1',
      id: 'e1',
      time: new Date(T0),
      data: {},
    });
    const reserved = followUp(placed, {
      type: 'inventory.reserved',
      source: 'inventory',
      id: 'e2',
      time: T0 + 30,
      data: {},
    });
    const charged = followUp(reserved, {
      type: 'payment.processed',
      source: 'payment',
      id: 'e3',
      time: T0 + 75,
      data: {},
    });
    const confirmed = followUp(charged, {
      type: 'order.confirmed',
      source: 'order',
      id: 'e4',
      time: T0 + 90,
      data: {},
    });
    const other = createEnvelope({ type: 'order.placed', source: 'order', id: 'x1', data: {} });
    // Listed out of order, with a duplicate delivery and another flow's event.
    const trace = await traceFlow(placed.correlationid, {
      source: source([
        { event: confirmed },
        { event: charged, handledBy: [{ service: 'order', at: T0 + 80 }] },
        { event: placed, handledBy: [{ service: 'inventory', at: new Date(T0 + 10).toISOString() }] },
        { event: reserved },
        { event: reserved, handledBy: [{ service: 'payment', at: T0 + 40 }] },
        { event: other },
      ]),
    });
    expect(
      trace.steps.map((s) => [s.event.type, s.service, s.sinceStartMs, s.sinceCauseMs, s.depth]),
    ).toEqual([
      ['order.placed', 'order', 0, undefined, 0],
      ['inventory.reserved', 'inventory', 30, 30, 1],
      ['payment.processed', 'payment', 75, 45, 2],
      ['order.confirmed', 'order', 90, 15, 3],
    ]);
    expect(trace.steps[0]?.handledBy).toEqual([{ service: 'inventory', at: T0 + 10 }]);
    expect(trace.steps[1]?.handledBy).toEqual([{ service: 'payment', at: T0 + 40 }]);
    expect(trace.durationMs).toBe(90);
    expect(trace.orphans).toEqual([]);
  });

  it('puts causes before effects even when clocks disagree, and reports orphans', async () => {
    const root = createEnvelope({
      type: 'order.placed',
      source: 'order',
      id: 'r',
      time: new Date(T0 + 100),
      data: {},
    });
    const early = followUp(root, {
      type: 'inventory.reserved',
      source: 'inventory',
      id: 'a',
      time: T0,
      data: {},
    });
    const orphan = createEnvelope({
      type: 'payment.refunded',
      source: 'payment',
      id: 'o',
      time: new Date(T0 + 50),
      correlationId: root.correlationid,
      causationId: 'missing',
      data: {},
    });
    const trace = await traceFlow(root.correlationid, {
      source: source([{ event: early }, { event: root }, { event: orphan }]),
    });
    const order = trace.steps.map((s) => s.event.id);
    expect(order.indexOf('r')).toBeLessThan(order.indexOf('a'));
    expect(trace.orphans).toEqual(['o']);
  });

  it('returns an empty trace for an unknown correlation id', async () => {
    const trace = await traceFlow('nothing', { source: source([]) });
    expect(trace).toMatchObject({ steps: [], durationMs: 0, startedAt: undefined });
  });

  it('always lists each event once, every cause before its effects', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ parent: fc.nat(), skew: fc.integer({ min: -500, max: 500 }) }), {
          maxLength: 25,
        }),
        fc.infiniteStream(fc.boolean()),
        async (shape, dup) => {
          const root = createEnvelope({
            type: 'order.placed',
            source: 'order',
            time: new Date(T0),
            data: {},
          });
          const events: EventEnvelope[] = [root];
          for (const s of shape) {
            const parent = events[s.parent % events.length] as EventEnvelope;
            events.push(
              followUp(parent, { type: 'x.y', source: 'svc', time: T0 + 1_000 + s.skew, data: {} }),
            );
          }
          const records = events.flatMap((event) =>
            dup.next().value ? [{ event }, { event }] : [{ event }],
          );
          const trace = await traceFlow(root.correlationid, { source: source(records.reverse()) });
          expect(trace.steps).toHaveLength(events.length);
          const pos = new Map(trace.steps.map((s, i) => [s.event.id, i]));
          for (const e of events.slice(1)) {
            expect(pos.get(e.causationid as string) as number).toBeLessThan(pos.get(e.id) as number);
          }
          expect(trace.orphans).toEqual([]);
        },
      ),
    );
  });
});
