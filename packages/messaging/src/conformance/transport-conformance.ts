import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Delivery, GroupStats, Transport } from '../transport.js';
import {
  type ConsumerChild,
  gate,
  type Received,
  record,
  rejectionOf,
  spawnConsumerChild,
  textMessage,
  uniqueSuffix,
  waitFor,
} from './conformance-helpers.js';

/**
 * One test environment of the conformance suite, made fresh for every test by
 * the {@link ConformanceFactory}: its own namespace (SQLite file, PostgreSQL
 * schema, NATS stream prefix, RabbitMQ name prefix), so tests never see each
 * other's messages. Topic names are unique per test as well.
 */
export interface ConformanceTarget {
  /**
   * Opens a transport on this test's namespace. Called several times per test
   * when a test needs several connections (competing consumers "in different
   * processes"); the suite closes every one it opened.
   */
  create(): Promise<Transport>;
  /**
   * A URL that `createTransport(url)` in a child process turns into a transport
   * on the same namespace (the crash test's consumer child uses it).
   */
  readonly url: string;
  /** Drops the namespace after the test (every transport is closed by then). */
  cleanup?(): Promise<void>;
}

/** Makes the environment of one test. */
export type ConformanceFactory = () => Promise<ConformanceTarget>;

/** Options of {@link describeTransportConformance}. */
export interface ConformanceOptions {
  /** Per-test timeout in ms. Default 60 000 (waits inside are bounded at 20 s each). */
  readonly timeoutMs?: number;
  /** Lease of consumers in the lease/crash tests, in ms. Default 1 000 (the child: 1 500). */
  readonly leaseMs?: number;
}

const enc = (s: string) => new TextEncoder().encode(s);

/** Resolves once the stats row of (topic, group) satisfies `check`. */
async function statsOf(
  t: Transport,
  topic: string,
  group: string,
  check: (s: GroupStats) => boolean,
  what: string,
): Promise<GroupStats> {
  let last: GroupStats | undefined;
  try {
    return await waitFor(what, async () => {
      last = (await t.stats(topic)).find((s) => s.group === group);
      return last !== undefined && check(last) ? last : undefined;
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}; last stats: ${JSON.stringify(last)}`);
  }
}

const idle = (s: GroupStats) => s.pending === 0 && s.inFlight === 0;

/**
 * The conformance suite of the {@link Transport} contract: every transport
 * (embedded, postgres, nats, rabbitmq) runs it against its real backend. It
 * uses only the `Transport` interface (plus `createTransport(url)` in a child
 * process), bounded polling waits and no timing assertions except "not
 * before" lower bounds (a retry delay, a `deliverAt`), which a correct
 * transport meets however slow the machine.
 *
 * Capabilities a transport declares `unsupported` are checked to be refused
 * with `MESSAGING_UNSUPPORTED` instead of their behaviour.
 *
 * @example
 * ```ts
 * describeTransportConformance('embedded', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'bus-'));
 *   const url = `sqlite:${join(dir, 'bus.db')}`;
 *   return { url, create: () => createTransport(url), cleanup: () => rm(dir, { recursive: true }) };
 * });
 * ```
 */
export function describeTransportConformance(
  name: string,
  factory: ConformanceFactory,
  options: ConformanceOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  const leaseMs = options.leaseMs ?? 1_000;

  describe(`Transport conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let opened: Transport[] = [];
    let children: ConsumerChild[] = [];
    let suffix = '';

    /** Opens a transport for this test (closed after it). */
    const open = async (): Promise<Transport> => {
      const t = await target.create();
      opened.push(t);
      return t;
    };
    /** A topic (or group) name unique to this test. */
    const topicName = (label: string) => `c${suffix}-${label}`;

    beforeEach(async () => {
      suffix = uniqueSuffix();
      target = await factory();
    });

    afterEach(async () => {
      for (const c of children) c.kill();
      children = [];
      const toClose = opened;
      opened = [];
      await Promise.allSettled(toClose.map((t) => t.close()));
      await target.cleanup?.();
    });

    it(
      'delivers a message with its id, body bytes, headers, priority and attempt 1',
      async () => {
        const t = await open();
        const topic = topicName('basic');
        await t.declareGroup(topic, 'g');
        const body = new Uint8Array([0, 1, 2, 250, 255, 10, 13]);
        const before = Date.now();
        await t.publish(topic, [
          { id: 'm-1', body, headers: { 'content-type': 'x/bin', traceparent: 'tp' } },
        ]);
        const got: Delivery[] = [];
        await t.consume(topic, 'g', async (d) => {
          got.push(d);
          await d.ack();
        });
        await waitFor('the delivery', () => got.length === 1);
        const d = got[0] as Delivery;
        expect(d.id).toBe('m-1');
        expect(d.topic).toBe(topic);
        expect(d.group).toBe('g');
        expect([...d.body]).toEqual([...body]);
        expect(d.headers).toMatchObject({ 'content-type': 'x/bin', traceparent: 'tp' });
        expect(d.attempt).toBe(1);
        expect(d.priority).toBe('normal');
        expect(d.orderingKey).toBeUndefined();
        // A sanity bound on the publish time (clocks of broker and test may differ slightly).
        expect(Math.abs(d.publishedAt.getTime() - before)).toBeLessThan(60_000);
        await statsOf(t, topic, 'g', idle, 'the group to be empty after the ack');
      },
      timeout,
    );

    it(
      'delivers every message of a batch exactly once',
      async () => {
        const t = await open();
        const topic = topicName('batch');
        await t.declareGroup(topic, 'g');
        const ids = Array.from({ length: 50 }, (_, i) => `b-${i}`);
        await t.publish(
          topic,
          ids.map((id) => textMessage(id)),
        );
        const got: Received[] = [];
        await t.consume(
          topic,
          'g',
          async (d) => {
            record(got, 'c', d);
            await d.ack();
          },
          { prefetch: 8 },
        );
        await waitFor('50 deliveries', () => got.length >= 50);
        await statsOf(t, topic, 'g', idle, 'the group to be empty');
        expect(got.map((r) => r.id).sort()).toEqual([...ids].sort());
        expect(got.every((r) => r.body === r.id && r.attempt === 1)).toBe(true);
      },
      timeout,
    );

    it(
      'gives every declared group its own copy of every message (fan-out)',
      async () => {
        const t = await open();
        const topic = topicName('fanout');
        await t.declareGroup(topic, 'billing');
        await t.declareGroup(topic, 'shipping');
        await t.publish(
          topic,
          ['f-1', 'f-2', 'f-3'].map((id) => textMessage(id)),
        );
        const got: Received[] = [];
        for (const g of ['billing', 'shipping'])
          await t.consume(topic, g, async (d) => {
            record(got, g, d);
            await d.ack();
          });
        await waitFor('3 deliveries per group', () => got.length >= 6);
        await statsOf(t, topic, 'billing', idle, 'billing to be empty');
        await statsOf(t, topic, 'shipping', idle, 'shipping to be empty');
        for (const g of ['billing', 'shipping'])
          expect(
            got
              .filter((r) => r.consumer === g)
              .map((r) => r.id)
              .sort(),
          ).toEqual(['f-1', 'f-2', 'f-3']);
      },
      timeout,
    );

    it(
      'gives each message to exactly one member of a group (competing consumers, prefetch honoured)',
      async () => {
        const a = await open();
        const b = await open();
        const topic = topicName('compete');
        await a.declareGroup(topic, 'workers');
        const got: Received[] = [];
        const inFlight = { a: 0, b: 0, maxA: 0, maxB: 0 };
        // Each member holds its first message until both members have one: with
        // prefetch 1, only a second member can take the second message.
        const bothBusy = gate();
        const handler = (who: 'a' | 'b') => async (d: Delivery) => {
          record(got, who, d);
          inFlight[who]++;
          if (who === 'a') inFlight.maxA = Math.max(inFlight.maxA, inFlight.a);
          else inFlight.maxB = Math.max(inFlight.maxB, inFlight.b);
          if (new Set(got.map((r) => r.consumer)).size === 2) bothBusy.open();
          await Promise.race([bothBusy.promise, new Promise((r) => setTimeout(r, 15_000))]);
          inFlight[who]--;
          await d.ack();
        };
        await a.consume(topic, 'workers', handler('a'), { prefetch: 1 });
        await b.consume(topic, 'workers', handler('b'), { prefetch: 1 });
        const ids = Array.from({ length: 20 }, (_, i) => `w-${i}`);
        await a.publish(
          topic,
          ids.map((id) => textMessage(id)),
        );
        await waitFor('20 deliveries', () => got.length >= 20);
        await statsOf(a, topic, 'workers', idle, 'the group to be empty');
        expect(bothBusy.isOpen).toBe(true);
        expect(got.map((r) => r.id).sort()).toEqual([...ids].sort());
        expect(got.every((r) => r.attempt === 1)).toBe(true);
        expect(inFlight.maxA).toBe(1);
        expect(inFlight.maxB).toBe(1);
      },
      timeout,
    );

    it(
      'never runs more handlers at once than prefetch',
      async () => {
        const t = await open();
        const topic = topicName('prefetch');
        await t.declareGroup(topic, 'g');
        await t.publish(
          topic,
          Array.from({ length: 12 }, (_, i) => textMessage(`p-${i}`)),
        );
        let running = 0;
        let max = 0;
        let done = 0;
        const release = gate();
        await t.consume(
          topic,
          'g',
          async (d) => {
            running++;
            max = Math.max(max, running);
            await release.promise;
            running--;
            done++;
            await d.ack();
          },
          { prefetch: 3 },
        );
        await waitFor('3 handlers running', () => running === 3);
        const s = await statsOf(t, topic, 'g', (x) => x.inFlight === 3, '3 deliveries in flight');
        expect(s.pending).toBe(9);
        release.open();
        await waitFor('12 handled', () => done === 12);
        expect(max).toBe(3);
      },
      timeout,
    );

    it(
      'redelivers a retried message no sooner than its delay, with attempt + 1',
      async () => {
        const t = await open();
        const topic = topicName('retry');
        const got: Received[] = [];
        let retriedAt = 0;
        const delayMs = 1_200;
        await t.consume(topic, 'g', async (d) => {
          record(got, 'c', d);
          if (d.attempt === 1) {
            retriedAt = Date.now();
            await d.retry(delayMs);
          } else if (d.attempt === 2) {
            await d.retry(0);
          } else await d.ack();
        });
        await t.publish(topic, [textMessage('r-1', { headers: { h: 'v' } }, 'payload')]);
        await waitFor('the third delivery', () => got.length >= 3);
        await statsOf(t, topic, 'g', idle, 'the group to be empty');
        expect(got.map((r) => [r.id, r.attempt, r.body, r.headers.h])).toEqual([
          ['r-1', 1, 'payload', 'v'],
          ['r-1', 2, 'payload', 'v'],
          ['r-1', 3, 'payload', 'v'],
        ]);
        // "Not before" the delay (a few ms of slack for clock granularity).
        expect((got[1] as Received).at - retriedAt).toBeGreaterThanOrEqual(delayMs - 25);
        expect(got.length).toBe(3);
      },
      timeout,
    );

    it(
      'dead-letters a message with its body, headers, error, reason, attempts and times',
      async () => {
        const t = await open();
        const topic = topicName('dead');
        const got: Received[] = [];
        await t.consume(topic, 'g', async (d) => {
          record(got, 'c', d);
          if (d.attempt < 2) await d.retry(0);
          else await d.deadLetter({ error: 'card declined', reason: 'TEST_DECLINED' });
        });
        const before = Date.now();
        await t.publish(topic, [textMessage('d-1', { headers: { h: 'v' } }, 'original')]);
        const s = await statsOf(
          t,
          topic,
          'g',
          (x) => x.deadLettered === 1 && idle(x),
          'one dead letter, nothing else',
        );
        expect(s.deadLettered).toBe(1);
        const dl = await t.deadLetters.get(topic, 'g', 'd-1');
        expect(dl).toBeDefined();
        expect(dl?.id).toBe('d-1');
        expect(dl?.topic).toBe(topic);
        expect(dl?.group).toBe('g');
        expect(new TextDecoder().decode(dl?.body)).toBe('original');
        expect(dl?.headers).toMatchObject({ h: 'v' });
        expect(dl?.error).toBe('card declined');
        expect(dl?.reason).toBe('TEST_DECLINED');
        expect(dl?.attempts).toBe(2);
        expect(dl?.priority).toBe('normal');
        expect(Math.abs((dl?.publishedAt.getTime() ?? 0) - before)).toBeLessThan(60_000);
        expect(dl?.deadLetteredAt.getTime()).toBeGreaterThanOrEqual(dl?.publishedAt.getTime() ?? Infinity);
        expect(await t.deadLetters.get(topic, 'g', 'nope')).toBeUndefined();
        expect(got.map((r) => r.attempt)).toEqual([1, 2]);
      },
      timeout,
    );

    it(
      'lists, counts, filters, replays and purges dead letters',
      async () => {
        const t = await open();
        const t1 = topicName('dlq1');
        const t2 = topicName('dlq2');
        const got: Received[] = [];
        const replayed: Received[] = [];
        const seen = new Set<string>();
        // The first delivery of each message to each group is dead-lettered; a replayed one is acknowledged.
        const deadLetterAll = (label: string) => async (d: Delivery) => {
          if (!seen.has(`${label}/${d.id}`)) {
            seen.add(`${label}/${d.id}`);
            record(got, label, d);
            await d.deadLetter({ error: `failed ${d.id}`, reason: 'TEST_FAILED' });
            return;
          }
          record(replayed, label, d);
          await d.ack();
        };
        await t.consume(t1, 'a', deadLetterAll('t1a'));
        await t.consume(t1, 'b', deadLetterAll('t1b'));
        await t.consume(t2, 'a', deadLetterAll('t2a'));
        await t.publish(t1, [textMessage('x-1'), textMessage('x-2')]);
        await t.publish(t2, [textMessage('y-1')]);
        await waitFor('5 dead letters', async () => (await t.deadLetters.count({})) >= 5);
        const own = (await t.deadLetters.list({ limit: 1000 })).filter(
          (d) => d.topic === t1 || d.topic === t2,
        );
        expect(own).toHaveLength(5);
        for (let i = 1; i < own.length; i++)
          expect((own[i] as { deadLetteredAt: Date }).deadLetteredAt.getTime()).toBeGreaterThanOrEqual(
            (own[i - 1] as { deadLetteredAt: Date }).deadLetteredAt.getTime(),
          );
        expect(await t.deadLetters.count({ topic: t1 })).toBe(4);
        expect(await t.deadLetters.count({ topic: t1, group: 'b' })).toBe(2);
        expect(await t.deadLetters.count({ topic: t2, group: 'a' })).toBe(1);
        expect(await t.deadLetters.count({ topic: t1, ids: ['x-2'] })).toBe(2);
        const page1 = await t.deadLetters.list({ topic: t1, limit: 3 });
        const page2 = await t.deadLetters.list({ topic: t1, limit: 3, offset: 3 });
        expect(page1).toHaveLength(3);
        expect(page2).toHaveLength(1);
        expect(new Set([...page1, ...page2].map((d) => `${d.group}/${d.id}`)).size).toBe(4);
        expect((await t.deadLetters.list({ topic: t1, group: 'a' })).map((d) => d.id).sort()).toEqual([
          'x-1',
          'x-2',
        ]);

        // Replay one message of one group: delivered again with attempt 1, gone from the DLQ.
        expect(await t.deadLetters.replay({ topic: t1, group: 'a', ids: ['x-1'] })).toBe(1);
        await waitFor('the replayed delivery', () => replayed.length >= 1);
        expect(replayed.map((r) => [r.consumer, r.id, r.attempt, r.body])).toEqual([
          ['t1a', 'x-1', 1, 'x-1'],
        ]);
        expect(await t.deadLetters.get(t1, 'a', 'x-1')).toBeUndefined();
        expect(await t.deadLetters.get(t1, 'b', 'x-1')).toBeDefined();
        expect(await t.deadLetters.count({ topic: t1 })).toBe(3);

        // Purge by topic, then the rest by group.
        expect(await t.deadLetters.purge({ topic: t2 })).toBe(1);
        expect(await t.deadLetters.count({ topic: t2 })).toBe(0);
        expect(await t.deadLetters.purge({ topic: t1, group: 'b' })).toBe(2);
        expect(await t.deadLetters.purge({ topic: t1 })).toBe(1);
        expect(await t.deadLetters.count({ topic: t1 })).toBe(0);
        await statsOf(t, t1, 'a', (s) => idle(s) && s.deadLettered === 0, 't1/a to be empty');
        expect(replayed).toHaveLength(1);
      },
      timeout,
    );

    it(
      'hands out high before normal before low when all are ready (or refuses priority)',
      async () => {
        const t = await open();
        const topic = topicName('prio');
        if (t.capabilities.priority === 'unsupported') {
          for (const priority of ['high', 'low'] as const) {
            const e = await rejectionOf(t.publish(topic, [textMessage('p', { priority })]));
            expect(e.reason).toBe('MESSAGING_UNSUPPORTED');
          }
          await t.publish(topic, [textMessage('p', { priority: 'normal' })]);
          return;
        }
        await t.declareGroup(topic, 'g');
        const order = ['low', 'normal', 'high', 'low', 'high', 'normal', 'low', 'normal', 'high'] as const;
        await t.publish(
          topic,
          order.map((priority, i) => textMessage(`${priority}-${i}`, { priority })),
        );
        await statsOf(t, topic, 'g', (s) => s.pending === 9, '9 pending messages');
        const got: Received[] = [];
        await t.consume(
          topic,
          'g',
          async (d) => {
            record(got, 'c', d);
            await d.ack();
          },
          { prefetch: 1 },
        );
        await waitFor('9 deliveries', () => got.length >= 9);
        expect(got.map((r) => r.priority)).toEqual([
          'high',
          'high',
          'high',
          'normal',
          'normal',
          'normal',
          'low',
          'low',
          'low',
        ]);
        expect(got.every((r) => r.id.startsWith(r.priority))).toBe(true);
      },
      timeout,
    );

    it(
      'does not deliver before deliverAt (or refuses a future deliverAt)',
      async () => {
        const t = await open();
        const topic = topicName('delay');
        if (t.capabilities.delayedDelivery === 'unsupported') {
          const e = await rejectionOf(
            t.publish(topic, [textMessage('later', { deliverAt: new Date(Date.now() + 60_000) })]),
          );
          expect(e.reason).toBe('MESSAGING_UNSUPPORTED');
          // A deliverAt already past means "at once" and is accepted.
          await t.publish(topic, [textMessage('now', { deliverAt: new Date(Date.now() - 1_000) })]);
          return;
        }
        const got: Received[] = [];
        await t.consume(topic, 'g', async (d) => {
          record(got, 'c', d);
          await d.ack();
        });
        const deliverAt = new Date(Date.now() + 1_500);
        await t.publish(topic, [textMessage('later', { deliverAt })]);
        await t.publish(topic, [textMessage('past', { deliverAt: new Date(Date.now() - 1_000) })]);
        await t.publish(topic, [textMessage('now')]);
        await waitFor('3 deliveries', () => got.length >= 3);
        expect((got[2] as Received).id).toBe('later');
        expect((got[2] as Received).at).toBeGreaterThanOrEqual(deliverAt.getTime() - 25);
        expect(
          got
            .slice(0, 2)
            .map((r) => r.id)
            .sort(),
        ).toEqual(['now', 'past']);
      },
      timeout,
    );

    it(
      'keeps per-key order across competing consumers, one in flight per key, a retry holding back only its key (or refuses ordering keys)',
      async () => {
        const a = await open();
        const b = await open();
        const topic = topicName('order');
        if (a.capabilities.orderingKey === 'unsupported') {
          const e = await rejectionOf(a.publish(topic, [textMessage('k', { orderingKey: 'A' })]));
          expect(e.reason).toBe('MESSAGING_UNSUPPORTED');
          return;
        }
        await a.declareGroup(topic, 'g');
        const keys = ['A', 'B', 'C'];
        const perKey = 8;
        const got: Received[] = [];
        const handled: Record<string, string[]> = { A: [], B: [], C: [] };
        const inFlightPerKey = new Map<string, number>();
        let maxPerKey = 0;
        let violations = 0;
        const othersDone = gate();
        const handler = (who: string) => async (d: Delivery) => {
          const key = d.orderingKey as string;
          record(got, who, d);
          const n = (inFlightPerKey.get(key) ?? 0) + 1;
          inFlightPerKey.set(key, n);
          maxPerKey = Math.max(maxPerKey, n);
          // Let other deliveries interleave.
          await new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * 5)));
          if (d.id === 'A-3' && d.attempt === 1) {
            // The failing message: it holds its key while B and C run to the end.
            await Promise.race([othersDone.promise, new Promise((r) => setTimeout(r, 20_000))]);
            inFlightPerKey.set(key, (inFlightPerKey.get(key) ?? 1) - 1);
            await d.retry(300);
            return;
          }
          const list = handled[key] as string[];
          if (key === 'A' && list.includes(d.id)) violations++;
          list.push(d.id);
          if ((handled.B as string[]).length === perKey && (handled.C as string[]).length === perKey)
            othersDone.open();
          inFlightPerKey.set(key, (inFlightPerKey.get(key) ?? 1) - 1);
          await d.ack();
        };
        await a.consume(topic, 'g', handler('a'), { prefetch: 4 });
        await b.consume(topic, 'g', handler('b'), { prefetch: 4 });
        // Interleave keys in one stream of publishes.
        const messages = [];
        for (let i = 0; i < perKey; i++)
          for (const k of keys) messages.push(textMessage(`${k}-${i}`, { orderingKey: k }));
        await a.publish(topic, messages.slice(0, 12));
        await a.publish(topic, messages.slice(12));
        await waitFor('every key handled', () =>
          keys.every((k) => (handled[k] as string[]).length === perKey),
        );
        await statsOf(a, topic, 'g', idle, 'the group to be empty');
        for (const k of keys)
          expect(handled[k]).toEqual(Array.from({ length: perKey }, (_, i) => `${k}-${i}`));
        expect(maxPerKey).toBe(1);
        expect(violations).toBe(0);
        expect(othersDone.isOpen).toBe(true);
        // While A-3 was held and then waiting for its retry, A-4 was not handed out.
        const a3 = got.filter((r) => r.id === 'A-3');
        expect(a3.map((r) => r.attempt)).toEqual([1, 2]);
        const a4 = got.find((r) => r.id === 'A-4') as Received;
        expect(got.indexOf(a4)).toBeGreaterThan(got.indexOf(a3[1] as Received));
        // B and C finished while A was blocked: nothing of theirs came after A-3's second attempt.
        const firstAfter = got.slice(got.indexOf(a3[1] as Received));
        expect(firstAfter.every((r) => r.orderingKey === 'A')).toBe(true);
      },
      timeout,
    );

    it(
      'keeps a live slow handler lease renewed: no second delivery while it runs',
      async () => {
        const a = await open();
        const b = await open();
        const topic = topicName('renew');
        await a.declareGroup(topic, 'g');
        const got: Received[] = [];
        const handler = (who: string) => async (d: Delivery) => {
          record(got, who, d);
          // Three leases long: only renewal keeps it from going to the other member.
          await new Promise((r) => setTimeout(r, leaseMs * 3));
          await d.ack();
        };
        await a.consume(topic, 'g', handler('a'), { prefetch: 1, leaseMs });
        await b.consume(topic, 'g', handler('b'), { prefetch: 1, leaseMs });
        await a.publish(topic, [textMessage('slow-1')]);
        await statsOf(a, topic, 'g', idle, 'the slow message to be acknowledged');
        expect(got.map((r) => [r.id, r.attempt])).toEqual([['slow-1', 1]]);
      },
      timeout,
    );

    it(
      'redelivers, with attempt 2, a delivery whose handler returned without settling, once its lease expires',
      async () => {
        const t = await open();
        const topic = topicName('lease');
        const got: Received[] = [];
        await t.consume(
          topic,
          'g',
          async (d) => {
            record(got, 'c', d);
            if (d.attempt >= 2) await d.ack();
            // attempt 1: return without ack, retry or deadLetter: the lease lapses.
          },
          { leaseMs },
        );
        await t.publish(topic, [textMessage('l-1')]);
        await waitFor('the redelivery', () => got.length >= 2);
        await statsOf(t, topic, 'g', idle, 'the group to be empty');
        expect(got.map((r) => [r.id, r.attempt])).toEqual([
          ['l-1', 1],
          ['l-1', 2],
        ]);
        // The lease starts when the delivery is handed out, a little before the handler starts
        // (a broker's network hop): half a lease is a bound no correct transport misses.
        expect((got[1] as Received).at - (got[0] as Received).at).toBeGreaterThanOrEqual(leaseMs / 2);
      },
      timeout,
    );

    it(
      'redelivers to another consumer, with attempt 2, a message whose consumer process was SIGKILLed mid-handler',
      async () => {
        const t = await open();
        const topic = topicName('crash');
        await t.declareGroup(topic, 'g');
        const child = spawnConsumerChild(target.url, topic, 'g', Math.max(leaseMs, 1_500));
        children.push(child);
        await waitFor('the child to be ready', () => child.lines.some((l) => l.ready === true), 30_000).catch(
          (e: Error) => {
            throw new Error(`${e.message}; child stderr: ${child.stderr()}`);
          },
        );
        await t.publish(topic, [textMessage('k-1'), textMessage('k-2')]);
        await waitFor('the child to take a message', () => child.lines.some((l) => l.id !== undefined));
        const taken = child.lines.find((l) => l.id !== undefined) as { id: string; attempt: number };
        expect(taken.attempt).toBe(1);
        child.kill();
        await waitFor('the child to die', () => child.process.signalCode !== null);
        const got: Received[] = [];
        await t.consume(
          topic,
          'g',
          async (d) => {
            record(got, 'parent', d);
            await d.ack();
          },
          { leaseMs },
        );
        await waitFor('both messages in the parent', () => got.length >= 2);
        await statsOf(t, topic, 'g', idle, 'the group to be empty');
        const again = got.find((r) => r.id === taken.id) as Received;
        expect(again.attempt).toBe(2);
        expect(got.map((r) => r.id).sort()).toEqual(['k-1', 'k-2']);
      },
      timeout,
    );

    it(
      'reports pending, in-flight and dead-lettered counts per group',
      async () => {
        const t = await open();
        const topic = topicName('stats');
        const other = topicName('stats-other');
        await t.declareGroup(topic, 'g');
        await t.declareGroup(other, 'h');
        const initial = await statsOf(t, topic, 'g', idle, 'a declared, empty group');
        expect(initial).toEqual({ topic, group: 'g', pending: 0, inFlight: 0, deadLettered: 0 });
        await t.publish(
          topic,
          ['s-1', 's-2', 's-3'].map((id) => textMessage(id)),
        );
        await statsOf(t, topic, 'g', (s) => s.pending === 3 && s.inFlight === 0, '3 pending');
        const hold = gate();
        let seen = 0;
        await t.consume(
          topic,
          'g',
          async (d) => {
            seen++;
            if (seen === 1) {
              await hold.promise;
              await d.deadLetter({ error: 'bad', reason: 'TEST_BAD' });
            } else await d.ack();
          },
          { prefetch: 1 },
        );
        await statsOf(t, topic, 'g', (s) => s.pending === 2 && s.inFlight === 1, '1 in flight, 2 pending');
        hold.open();
        await statsOf(t, topic, 'g', (s) => idle(s) && s.deadLettered === 1, 'all settled, one dead letter');
        const mine = await t.stats(topic);
        expect(mine.map((s) => s.group)).toEqual(['g']);
        const all = await t.stats();
        expect(all.some((s) => s.topic === other && s.group === 'h')).toBe(true);
        expect(all.some((s) => s.topic === topic && s.group === 'g')).toBe(true);
      },
      timeout,
    );

    it(
      'stops a consumer gracefully: waits for in-flight handlers, then takes no more',
      async () => {
        const t = await open();
        const topic = topicName('stop');
        const hold = gate();
        const got: Received[] = [];
        const consumer = await t.consume(topic, 'g', async (d) => {
          record(got, 'c', d);
          await hold.promise;
          await d.ack();
        });
        await t.publish(topic, [textMessage('st-1')]);
        await waitFor('the delivery', () => got.length === 1);
        let stopped = false;
        const stopping = consumer.stop().then(() => {
          stopped = true;
        });
        await new Promise((r) => setTimeout(r, 50));
        expect(stopped).toBe(false);
        hold.open();
        await stopping;
        await statsOf(t, topic, 'g', idle, 'the in-flight message to be acknowledged');
        await t.publish(topic, [textMessage('st-2')]);
        await statsOf(t, topic, 'g', (s) => s.pending === 1, 'the new message to stay pending');
        expect(got.map((r) => r.id)).toEqual(['st-1']);
      },
      timeout,
    );

    it(
      'closes idempotently and refuses work afterwards with MESSAGING_CLOSED',
      async () => {
        const t = await open();
        const topic = topicName('close');
        await t.consume(topic, 'g', async (d) => d.ack());
        await t.close();
        await t.close();
        const e1 = await rejectionOf(t.publish(topic, [textMessage('c-1')]));
        expect([e1.code, e1.reason]).toEqual(['failed_precondition', 'MESSAGING_CLOSED']);
        const e2 = await rejectionOf(t.consume(topic, 'g', async () => {}));
        expect([e2.code, e2.reason]).toEqual(['failed_precondition', 'MESSAGING_CLOSED']);
      },
      timeout,
    );

    it(
      'accepts a body at its size limit and refuses one byte more, sending nothing',
      async () => {
        const t = await open();
        const topic = topicName('size');
        await t.declareGroup(topic, 'g');
        const max = t.capabilities.maxMessageBytes;
        expect(max).toBeGreaterThanOrEqual(64 * 1024);
        const e = await rejectionOf(t.publish(topic, [{ id: 'big', body: new Uint8Array(max + 1) }]));
        expect([e.code, e.reason]).toEqual(['invalid_argument', 'MESSAGING_MESSAGE_TOO_LARGE']);
        const size = Math.min(max, 512 * 1024);
        const body = new Uint8Array(size).map((_, i) => i % 251);
        await t.publish(topic, [{ id: 'fits', body }]);
        const got: Delivery[] = [];
        await t.consume(topic, 'g', async (d) => {
          got.push(d);
          await d.ack();
        });
        await waitFor('the delivery', () => got.length === 1);
        expect(got[0]?.id).toBe('fits');
        expect(got[0]?.body.byteLength).toBe(size);
        expect(Buffer.from(got[0]?.body ?? []).equals(Buffer.from(body))).toBe(true);
      },
      timeout,
    );

    it(
      'refuses bad input with invalid_argument and sends nothing of a bad batch',
      async () => {
        const t = await open();
        const topic = topicName('bad');
        await t.declareGroup(topic, 'g');
        for (const bad of ['', 'has space', 'wild*', 'x>'])
          expect((await rejectionOf(t.publish(bad, [textMessage('m')]))).code).toBe('invalid_argument');
        expect((await rejectionOf(t.declareGroup(topic, ''))).code).toBe('invalid_argument');
        const cases: unknown[] = [
          { id: '', body: enc('x') },
          { id: 'no-body' },
          { id: 'str-body', body: 'text' },
          { id: 'prio', body: enc('x'), priority: 'urgent' },
          { id: 'when', body: enc('x'), deliverAt: new Date('nonsense') },
          { id: 'hdr', body: enc('x'), headers: { n: 1 } },
        ];
        for (const bad of cases) {
          const e = await rejectionOf(t.publish(topic, [textMessage('ok-1'), bad as never]));
          expect([e.code, e.reason]).toEqual(['invalid_argument', 'MESSAGING_INVALID_MESSAGE']);
        }
        const s = await statsOf(t, topic, 'g', () => true, 'stats');
        expect(s.pending).toBe(0);
      },
      timeout,
    );
  });
}
