import { isSluiceError } from '@sluice/errors';
import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery } from '../transport.js';
import { dec, enc, RABBIT_URL, rabbitHarness, type Seen, waitFor } from './rabbitmq.test-support.js';
import { createRabbitMqTransport } from './rabbitmq-transport.js';

let harness = rabbitHarness();
afterEach(async () => {
  await harness.cleanup();
  harness = rabbitHarness();
});

describe('RabbitMQ transport', () => {
  it('delivers a message with its id, body, headers and publish time', async () => {
    const t = await harness.create();
    await t.declareGroup('orders', 'billing');
    const before = Date.now();
    await t.publish('orders', [
      {
        id: 'm-1',
        body: enc('{"n":1}'),
        headers: { traceparent: '00-abc-def-01', 'content-type': 'application/json' },
      },
    ]);
    const seen: Delivery[] = [];
    await t.consume('orders', 'billing', async (d) => {
      seen.push(d);
      await d.ack();
    });
    await waitFor(() => seen.length === 1, 'the delivery');
    const d = seen[0] as Delivery;
    expect(d.id).toBe('m-1');
    expect(dec(d.body)).toBe('{"n":1}');
    expect(d.headers).toEqual({ traceparent: '00-abc-def-01', 'content-type': 'application/json' });
    expect(d.attempt).toBe(1);
    expect(d.priority).toBe('normal');
    expect(d.orderingKey).toBeUndefined();
    expect(d.topic).toBe('orders');
    expect(d.group).toBe('billing');
    expect(d.publishedAt.getTime()).toBeGreaterThanOrEqual(before - 1);
    await waitFor(async () => (await t.stats('orders'))[0]?.inFlight === 0, 'the ack');
    expect(await t.stats('orders')).toEqual([
      { topic: 'orders', group: 'billing', pending: 0, inFlight: 0, deadLettered: 0 },
    ]);
  });

  it('gives every group every message and splits a group between its members', async () => {
    const t = await harness.create();
    await t.declareGroup('events', 'a');
    await t.declareGroup('events', 'b');
    const ids = Array.from({ length: 40 }, (_, i) => `e-${i}`);
    await t.publish(
      'events',
      ids.map((id) => ({ id, body: enc(id) })),
    );
    const byGroupA: string[] = [];
    const member1: string[] = [];
    const member2: string[] = [];
    // Each member of b holds its first message until the other has one too: with prefetch 1,
    // only the second member can take the second message, however the machine schedules them.
    const bothHaveOne = () => member1.length > 0 && member2.length > 0;
    const handle = (into: string[], hold: boolean) => async (d: Delivery) => {
      into.push(d.id);
      if (hold) await waitFor(bothHaveOne, 'both members to have a message', 15_000).catch(() => {});
      await d.ack();
    };
    await t.consume('events', 'a', handle(byGroupA, false));
    await t.consume('events', 'b', handle(member1, true), { prefetch: 1 });
    await t.consume('events', 'b', handle(member2, true), { prefetch: 1 });
    await waitFor(() => byGroupA.length === 40 && member1.length + member2.length === 40, 'both groups');
    expect([...byGroupA].sort()).toEqual([...ids].sort());
    expect([...member1, ...member2].sort()).toEqual([...ids].sort());
    expect(member1.length).toBeGreaterThan(0);
    expect(member2.length).toBeGreaterThan(0);
  });

  it('keeps messages for a declared group while no member is connected, and drops them for undeclared groups', async () => {
    const t = await harness.create();
    await t.declareGroup('audit', 'early');
    await t.publish('audit', [{ id: 'x-1', body: enc('1') }]);
    await t.declareGroup('audit', 'late');
    await t.publish('audit', [{ id: 'x-2', body: enc('2') }]);
    const stats = await t.stats('audit');
    expect(stats.map((s) => [s.group, s.pending])).toEqual([
      ['early', 2],
      ['late', 1],
    ]);
  });

  it('never runs more than prefetch handlers at once', async () => {
    const t = await harness.create();
    await t.declareGroup('jobs', 'default');
    await t.publish(
      'jobs',
      Array.from({ length: 12 }, (_, i) => ({ id: `j-${i}`, body: enc('x') })),
    );
    let running = 0;
    let peak = 0;
    let done = 0;
    await t.consume(
      'jobs',
      'default',
      async (d) => {
        running++;
        peak = Math.max(peak, running);
        // Hold the first ones until three run at once (bounded), then let everything through.
        if (done === 0) await waitFor(() => peak === 3, 'three handlers at once', 15_000).catch(() => {});
        running--;
        done++;
        await d.ack();
      },
      { prefetch: 3 },
    );
    await waitFor(() => done === 12, 'all jobs');
    expect(peak).toBe(3);
  });

  it('hands out high before normal before low', async () => {
    const t = await harness.create();
    await t.declareGroup('work', 'default');
    await t.publish('work', [
      { id: 'low-1', body: enc('l'), priority: 'low' },
      { id: 'normal-1', body: enc('n'), priority: 'normal' },
      { id: 'high-1', body: enc('h'), priority: 'high' },
      { id: 'low-2', body: enc('l'), priority: 'low' },
      { id: 'high-2', body: enc('h'), priority: 'high' },
    ]);
    const order: Array<[string, string]> = [];
    await t.consume(
      'work',
      'default',
      async (d) => {
        order.push([d.id, d.priority]);
        await d.ack();
      },
      { prefetch: 1 },
    );
    await waitFor(() => order.length === 5, 'all messages');
    expect(order).toEqual([
      ['high-1', 'high'],
      ['high-2', 'high'],
      ['normal-1', 'normal'],
      ['low-1', 'low'],
      ['low-2', 'low'],
    ]);
  });

  it('delivers a scheduled message no sooner than deliverAt, while others flow', async () => {
    const t = await harness.create();
    await t.declareGroup('sched', 'default');
    const deliverAt = new Date(Date.now() + 700);
    await t.publish('sched', [
      { id: 'later', body: enc('l'), deliverAt },
      { id: 'now', body: enc('n') },
    ]);
    const seen: Seen[] = [];
    await t.consume('sched', 'default', async (d) => {
      seen.push({ id: d.id, attempt: d.attempt, at: Date.now(), delivery: d });
      await d.ack();
    });
    await waitFor(() => seen.length === 2, 'both messages');
    expect(seen.map((s) => s.id)).toEqual(['now', 'later']);
    expect((seen[1] as Seen).at).toBeGreaterThanOrEqual(deliverAt.getTime());
    expect((seen[1] as Seen).attempt).toBe(1);
  });

  it('redelivers a retried message after its delay with the next attempt number', async () => {
    const t = await harness.create();
    await t.declareGroup('retry', 'default');
    await t.publish('retry', [{ id: 'r-1', body: enc('r'), headers: { h: 'v' } }]);
    const seen: Seen[] = [];
    await t.consume('retry', 'default', async (d) => {
      seen.push({ id: d.id, attempt: d.attempt, at: Date.now(), delivery: d });
      if (d.attempt < 3) await d.retry(d.attempt === 1 ? 300 : 0);
      else await d.ack();
    });
    await waitFor(() => seen.length === 3, 'three attempts');
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect((seen[1] as Seen).at - (seen[0] as Seen).at).toBeGreaterThanOrEqual(300);
    expect((seen[2] as Seen).delivery.headers).toEqual({ h: 'v' });
    expect((seen[2] as Seen).delivery.publishedAt).toEqual((seen[0] as Seen).delivery.publishedAt);
  });

  it('refuses bad messages before sending anything', async () => {
    const t = await harness.create({ maxMessageBytes: 1024 });
    await t.declareGroup('bad', 'default');
    const attempts: Array<[unknown, string]> = [
      [[{ id: '', body: enc('x') }], 'MESSAGING_INVALID_MESSAGE'],
      [[{ id: 'a', body: 'not bytes' }], 'MESSAGING_INVALID_MESSAGE'],
      [[{ id: 'a', body: enc('x'), headers: { n: 1 } }], 'MESSAGING_INVALID_MESSAGE'],
      [[{ id: 'a', body: enc('x'), headers: { 'x-sluice-attempt': '9' } }], 'MESSAGING_INVALID_MESSAGE'],
      [[{ id: 'a', body: enc('x'), priority: 'urgent' }], 'MESSAGING_INVALID_MESSAGE'],
      [[{ id: 'a', body: enc('x'), deliverAt: new Date('nope') }], 'MESSAGING_INVALID_MESSAGE'],
      [
        [
          { id: 'ok', body: enc('x') },
          { id: 'big', body: new Uint8Array(1025) },
        ],
        'MESSAGING_MESSAGE_TOO_LARGE',
      ],
      [[{ id: 'k', body: enc('x'), orderingKey: 'o-1', priority: 'high' }], 'MESSAGING_UNSUPPORTED'],
      [
        [{ id: 'k', body: enc('x'), orderingKey: 'o-1', deliverAt: new Date(Date.now() + 3_600_000) }],
        'MESSAGING_UNSUPPORTED',
      ],
    ];
    for (const [messages, reason] of attempts) {
      const err = await t.publish('bad', messages as never).catch((e: unknown) => e);
      expect(isSluiceError(err) && err.reason, JSON.stringify(messages)).toBe(reason);
    }
    const err = await t.publish('bad topic!', []).catch((e: unknown) => e);
    expect(isSluiceError(err) && err.code).toBe('invalid_argument');
    expect((await t.stats('bad'))[0]?.pending).toBe(0);
    expect(t.capabilities).toEqual({
      priority: 'native',
      delayedDelivery: 'emulated',
      orderingKey: 'emulated',
      deadLetters: 'emulated',
      maxMessageBytes: 1024,
    });
  });

  it('refuses a malformed URL or option', async () => {
    for (const url of ['http://127.0.0.1', 'not a url', `${RABBIT_URL}?partitions=0`]) {
      const err = await createRabbitMqTransport({ url }).catch((e: unknown) => e);
      expect(isSluiceError(err) && err.reason, url).toBe('MESSAGING_INVALID_URL');
    }
    const err = await createRabbitMqTransport({ url: 'amqp://guest:guest@127.0.0.1:1/' }).catch(
      (e: unknown) => e,
    );
    expect(isSluiceError(err) && err.reason).toBe('MESSAGING_TRANSPORT_UNAVAILABLE');
  });

  it('stop lets in-flight handlers finish; close is idempotent and refuses further work', async () => {
    const t = await harness.create();
    await t.declareGroup('stop', 'default');
    await t.publish('stop', [{ id: 's-1', body: enc('s') }]);
    let release: () => void = () => {};
    let started = false;
    let acked = false;
    const consumer = await t.consume('stop', 'default', async (d) => {
      started = true;
      await new Promise<void>((r) => {
        release = r;
      });
      await d.ack();
      acked = true;
    });
    await waitFor(() => started, 'the handler to start');
    const stopping = consumer.stop();
    setTimeout(() => release(), 50);
    await stopping;
    expect(acked).toBe(true);
    expect((await t.stats('stop'))[0]?.pending).toBe(0);
    await t.close();
    await t.close();
    const err = await t.publish('stop', [{ id: 'late', body: enc('x') }]).catch((e: unknown) => e);
    expect(isSluiceError(err) && err.reason).toBe('MESSAGING_CLOSED');
  });

  it('refuses a transport whose partition count differs from the one a topic was set up with', async () => {
    const four = await harness.create({ partitions: 4 });
    await four.declareGroup('parts', 'g');
    const eight = await harness.create({ partitions: 8 });
    const err = await eight
      .publish('parts', [{ id: 'p', body: enc('x'), orderingKey: 'k' }])
      .catch((e: unknown) => e);
    expect(isSluiceError(err) && [err.code, err.reason]).toEqual([
      'failed_precondition',
      'MESSAGING_INVALID_URL',
    ]);
    expect((await four.stats('parts'))[0]?.pending).toBe(0);
  });

  it('answers DLQ questions about a group nobody declared with nothing', async () => {
    const t = await harness.create();
    expect(await t.deadLetters.count({ topic: 'never', group: 'declared' })).toBe(0);
    expect(await t.deadLetters.get('never', 'declared', 'x')).toBeUndefined();
    expect(await t.deadLetters.list({ topic: 'never', group: 'declared' })).toEqual([]);
    expect(await t.deadLetters.purge({ topic: 'never', group: 'declared' })).toBe(0);
  });

  it('treats a second settle as a no-op', async () => {
    const t = await harness.create();
    await t.declareGroup('once', 'default');
    await t.publish('once', [{ id: 'o-1', body: enc('o') }]);
    const seen: number[] = [];
    let secondDone = false;
    await t.consume('once', 'default', async (d) => {
      seen.push(d.attempt);
      await d.ack();
      await d.retry(0);
      await d.deadLetter({ error: 'late', reason: 'TEST_LATE' });
      secondDone = true;
    });
    await waitFor(() => secondDone, 'the extra settles');
    await waitFor(async () => (await t.stats('once'))[0]?.inFlight === 0, 'nothing in flight');
    const [s] = await t.stats('once');
    expect([s?.pending, s?.deadLettered]).toEqual([0, 0]);
    expect(seen).toEqual([1]);
  });
});
