import { createShopEventRegistry, type EventEnvelope } from '@sluice/contracts';
import { isSluiceError } from '@sluice/errors';
import { constant } from '@sluice/resilience';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../conformance/conformance-helpers.js';
import { tempEmbedded } from '../embedded/temp-transport.test-support.js';
import type { Delivery, Transport } from '../transport.js';
import { type Bus, createBus } from './bus.js';

/**
 * Property tests of the bus on the embedded transport: bad input at publish
 * and at consume, and random interleavings of publish / consume / crash.
 */

const registry = createShopEventRegistry();
const enc = (s: string) => new TextEncoder().encode(s);
const ENVELOPE_KEYS = [
  'specversion',
  'id',
  'type',
  'source',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'data',
  'correlationid',
  'causationid',
  'traceparent',
] as const;

let env: Awaited<ReturnType<typeof tempEmbedded>>;
let transport: Transport;
let bus: Bus;
let run = 0;

beforeAll(async () => {
  env = await tempEmbedded();
  transport = env.transport;
  bus = await createBus({ transport, source: 'prop', registry });
});
afterAll(async () => {
  await bus.close();
  await env.dispose();
});

/** Valid `notification.sent` events. */
const validEvent = fc
  .record({
    messageId: fc.stringMatching(/^[a-z0-9]{1,12}$/),
    to: fc.string({ minLength: 3, maxLength: 30 }),
    templateId: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
  })
  .map((data) => bus.event({ type: 'notification.sent', data }));

/** Valid events with one field replaced by anything, or removed, or anything at all. */
const candidate: fc.Arbitrary<unknown> = fc.oneof(
  validEvent,
  fc
    .tuple(validEvent, fc.constantFrom(...ENVELOPE_KEYS), fc.anything())
    .map(([e, k, v]) => ({ ...e, [k]: v })),
  fc.tuple(validEvent, fc.constantFrom(...ENVELOPE_KEYS)).map(([e, k]) => {
    const copy: Record<string, unknown> = { ...e };
    delete copy[k];
    return copy;
  }),
  fc
    .tuple(validEvent, fc.constantFrom('messageId', 'to', 'templateId', 'extra'), fc.anything())
    .map(([e, k, v]) => ({ ...e, data: { ...(e.data as object), [k]: v } })),
  fc.anything(),
);

describe('bus (properties)', () => {
  it('publishes exactly the events the registry accepts; refuses the rest with invalid_argument, sending nothing', async () => {
    const topic = 'notification.sent';
    await transport.declareGroup(topic, 'prop-publish');
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(candidate, async (value) => {
        const valid = registry.validate(value).ok;
        try {
          await bus.publish(value as EventEnvelope);
          expect(valid).toBe(true);
          accepted++;
        } catch (e) {
          expect(valid).toBe(false);
          expect(
            isSluiceError(e) && e.code === 'invalid_argument' && e.reason === 'MESSAGING_INVALID_MESSAGE',
          ).toBe(true);
        }
        const s = (await transport.stats(topic)).find((x) => x.group === 'prop-publish');
        expect(s?.pending).toBe(accepted);
      }),
      { numRuns: 300 },
    );
  });

  it('hands valid events to the handler and dead-letters every bad body with MESSAGING_INVALID_MESSAGE, never looping', async () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.json().map(enc),
      candidate.map((c) => {
        try {
          return enc(JSON.stringify(c) ?? 'undefined');
        } catch {
          return enc('{');
        }
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 8 }), async (bodies) => {
        const topic = `bad-${++run}`;
        await transport.declareGroup(topic, 'g');
        await transport.publish(
          topic,
          bodies.map((b, i) => ({ id: `b-${i}`, body: b })),
        );
        const expectedValid = bodies.filter((b) => {
          try {
            return registry.validate(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b))).ok;
          } catch {
            return false;
          }
        }).length;
        let handled = 0;
        const sub = await bus.subscribe(
          topic,
          { group: 'g', maxAttempts: 3, backoff: constant(0) },
          async () => {
            handled++;
          },
        );
        await waitFor('every body settled', async () => {
          const s = (await transport.stats(topic))[0];
          return s !== undefined && s.pending === 0 && s.inFlight === 0;
        });
        await sub.stop();
        const dead = await transport.deadLetters.list({ topic, limit: 100 });
        expect(handled).toBe(expectedValid);
        expect(dead).toHaveLength(bodies.length - expectedValid);
        expect(dead.every((d) => d.reason === 'MESSAGING_INVALID_MESSAGE' && d.attempts === 1)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  type Fate = 'ok' | 'fail' | 'crashBefore' | 'crashAfter';

  /**
   * A transport whose consumers "crash" on command: `crashBefore` drops the
   * delivery before the bus sees it, `crashAfter` lets the handler run but
   * loses the settlement — in both cases nothing is settled, as when a process
   * dies, and only lease expiry brings the message back.
   */
  const crashy = (inner: Transport, fateOf: (d: Delivery) => Fate): Transport => ({
    ...inner,
    consume: (topic, group, handler, options) =>
      inner.consume(
        topic,
        group,
        async (d) => {
          const fate = fateOf(d);
          if (fate === 'crashBefore') return;
          if (fate === 'crashAfter') {
            const lost = async () => {};
            await handler({ ...d, ack: lost, retry: lost, deadLetter: lost, extendLease: d.extendLease });
            return;
          }
          await handler(d);
        },
        options,
      ),
  });

  it('never loses or duplicates a handled effect under random interleavings of publish, consume and crash (dedup by id)', async () => {
    const scenario = fc.record({
      consumers: fc.integer({ min: 1, max: 3 }),
      prefetch: fc.integer({ min: 1, max: 4 }),
      starts: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 3, maxLength: 3 }),
      steps: fc.array(
        fc.record({ publish: fc.integer({ min: 0, max: 6 }), pauseMs: fc.integer({ min: 0, max: 30 }) }),
        { minLength: 1, maxLength: 6 },
      ),
      fates: fc.array(fc.constantFrom<Fate>('ok', 'ok', 'fail', 'crashBefore', 'crashAfter'), {
        minLength: 1,
        maxLength: 30,
      }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ consumers, prefetch, starts, steps, fates }) => {
        const topic = `mix-${++run}`;
        let ordinal = 0;
        // Fates apply to the first attempts; from the 4th on everything succeeds, so each run ends.
        const fateOf = (d: Delivery): Fate =>
          d.attempt >= 4 ? 'ok' : (fates[ordinal++ % fates.length] as Fate);
        const fateByDelivery = new WeakMap<object, Fate>();
        const wrapped = crashy(transport, (d) => {
          const f = fateOf(d);
          fateByDelivery.set(d.headers, f);
          return f;
        });
        const crashBus = await createBus({ transport: wrapped, source: 'prop', registry });
        await transport.declareGroup(topic, 'g');
        const effects: string[] = [];
        const inbox = new Set<string>();
        let invocations = 0;
        const handler = async (event: EventEnvelope, ctx: { headers: object }) => {
          invocations++;
          if (fateByDelivery.get(ctx.headers) === 'fail') throw new Error('transient');
          // The inbox: "handled E" and the effect commit together (one synchronous step here).
          if (!inbox.has(event.id)) {
            inbox.add(event.id);
            effects.push(event.id);
          }
        };
        const options = { group: 'g', prefetch, leaseMs: 150, maxAttempts: 10, backoff: constant(5) };
        const published: string[] = [];
        const subs = [];
        for (let step = 0; step < steps.length; step++) {
          for (let c = 0; c < consumers; c++)
            if (starts[c] === step) subs.push(await crashBus.subscribe(topic, options, handler));
          const { publish, pauseMs } = steps[step] as { publish: number; pauseMs: number };
          const events = Array.from({ length: publish }, (_, i) =>
            crashBus.event({
              type: 'notification.sent',
              data: { messageId: `s${step}-${i}`, to: 'a@b.c', templateId: 't' },
            }),
          );
          if (events.length > 0) await crashBus.publishBatch(events.map((event) => ({ event, topic })));
          published.push(...events.map((e) => e.id));
          await new Promise((r) => setTimeout(r, pauseMs));
        }
        // Consumers not started yet start now.
        while (subs.length < consumers) subs.push(await crashBus.subscribe(topic, options, handler));
        await waitFor('every published event handled and settled', async () => {
          const s = (await transport.stats(topic))[0];
          return effects.length >= published.length && s?.pending === 0 && s.inFlight === 0;
        });
        await crashBus.close();
        await Promise.all(subs.map((s) => s.stop()));
        expect([...effects].sort()).toEqual([...published].sort());
        expect(new Set(effects).size).toBe(effects.length);
        expect(invocations).toBeGreaterThanOrEqual(effects.length);
        expect(await transport.deadLetters.count({ topic })).toBe(0);
      }),
      { numRuns: 15 },
    );
  }, 180_000);
});
