import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { isSluiceError } from '@sluice/errors';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnConsumerChild } from '../conformance/conformance-helpers.js';
import { MessagingReasons } from '../reasons.js';
import type { Delivery, Transport } from '../transport.js';
import { deleteNamespace, NATS_URL, testPrefix, waitFor } from './nats.test-support.js';
import { SCHEDULER_CONSUMER, topicNames } from './nats-names.js';
import { createNatsTransport } from './nats-transport.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const body = (s: string) => enc.encode(s);

describe('createNatsTransport (real NATS JetStream)', () => {
  const prefix = testPrefix();
  let transport: Transport;
  let topicSeq = 0;
  const topic = () => `orders.t${++topicSeq}`;

  beforeAll(async () => {
    transport = await createNatsTransport({ url: NATS_URL, prefix, partitions: 8, idlePollMs: 200 });
  });
  afterAll(async () => {
    await transport.close();
    await deleteNamespace(prefix);
  });

  const consumers: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
  });

  it('delivers to every declared group, with id, body, headers and attempt 1', async () => {
    const t = topic();
    await transport.declareGroup(t, 'billing');
    await transport.declareGroup(t, 'shipping');
    await transport.publish(t, [
      { id: 'm-1', body: body('hello'), headers: { traceparent: '00-abc-01', 'X-Case': 'Up' } },
    ]);
    const got: Record<string, Delivery[]> = { billing: [], shipping: [] };
    for (const g of ['billing', 'shipping']) {
      consumers.push(
        await transport.consume(t, g, async (d) => {
          got[g]?.push(d);
          await d.ack();
        }),
      );
    }
    await waitFor(() => got.billing?.length === 1 && got.shipping?.length === 1, 'both groups');
    const d = got.billing?.[0] as Delivery;
    expect(d.id).toBe('m-1');
    expect(dec.decode(d.body)).toBe('hello');
    expect(d.headers).toEqual({ traceparent: '00-abc-01', 'X-Case': 'Up' });
    expect(d.attempt).toBe(1);
    expect(d.topic).toBe(t);
    expect(d.group).toBe('billing');
    expect(d.priority).toBe('normal');
    expect(d.publishedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('keeps nothing for a group declared after the publish', async () => {
    const t = topic();
    await transport.declareGroup(t, 'early');
    await transport.publish(t, [{ id: 'before', body: body('1') }]);
    await transport.declareGroup(t, 'late');
    await transport.publish(t, [{ id: 'after', body: body('2') }]);
    const late: string[] = [];
    const early: string[] = [];
    consumers.push(
      await transport.consume(t, 'late', async (d) => {
        late.push(d.id);
        await d.ack();
      }),
    );
    consumers.push(
      await transport.consume(t, 'early', async (d) => {
        early.push(d.id);
        await d.ack();
      }),
    );
    await waitFor(() => early.length === 2 && late.length === 1, 'deliveries');
    expect(late).toEqual(['after']);
  });

  it('gives each message to one member of a group (competing consumers)', async () => {
    const t = topic();
    await transport.declareGroup(t, 'workers');
    const seen = new Map<string, number>();
    const byMember = [0, 0];
    for (const m of [0, 1]) {
      consumers.push(
        await transport.consume(
          t,
          'workers',
          async (d) => {
            seen.set(d.id, (seen.get(d.id) ?? 0) + 1);
            byMember[m] = (byMember[m] ?? 0) + 1;
            await new Promise((r) => setTimeout(r, 2));
            await d.ack();
          },
          { prefetch: 4 },
        ),
      );
    }
    const n = 200;
    await transport.publish(
      t,
      Array.from({ length: n }, (_, i) => ({ id: `w-${i}`, body: body(String(i)) })),
    );
    await waitFor(() => seen.size === n, 'all messages');
    await new Promise((r) => setTimeout(r, 300));
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    expect((byMember[0] ?? 0) + (byMember[1] ?? 0)).toBe(n);
  });

  it('retries with a growing attempt, dead-letters with the failure, replays to that group only, purges', async () => {
    const t = topic();
    await transport.declareGroup(t, 'a');
    await transport.declareGroup(t, 'b');
    const attempts: number[] = [];
    const bSeen: string[] = [];
    let failing = true;
    consumers.push(
      await transport.consume(t, 'a', async (d) => {
        attempts.push(d.attempt);
        if (!failing) return d.ack();
        if (d.attempt < 3) return d.retry(50);
        return d.deadLetter({ error: 'boom\nline 2', reason: 'TEST_BOOM' });
      }),
    );
    consumers.push(
      await transport.consume(t, 'b', async (d) => {
        bSeen.push(d.id);
        await d.ack();
      }),
    );
    await transport.publish(t, [{ id: 'dl-1', body: body('payload'), headers: { k: 'v' } }]);
    await waitFor(
      async () => (await transport.deadLetters.count({ topic: t, group: 'a' })) === 1,
      'dead letter',
    );
    expect(attempts).toEqual([1, 2, 3]);
    const [letter] = await transport.deadLetters.list({ topic: t });
    expect(letter).toMatchObject({
      id: 'dl-1',
      topic: t,
      group: 'a',
      error: 'boom\nline 2',
      reason: 'TEST_BOOM',
      attempts: 3,
      headers: { k: 'v' },
      priority: 'normal',
    });
    expect(dec.decode(letter?.body)).toBe('payload');
    expect(letter?.deadLetteredAt.getTime()).toBeGreaterThanOrEqual(letter?.publishedAt.getTime() ?? 0);
    expect((await transport.deadLetters.get(t, 'a', 'dl-1'))?.reason).toBe('TEST_BOOM');
    expect(await transport.deadLetters.get(t, 'b', 'dl-1')).toBeUndefined();
    const stats = await transport.stats(t);
    expect(stats.find((s) => s.group === 'a')?.deadLettered).toBe(1);

    failing = false;
    attempts.length = 0;
    expect(await transport.deadLetters.replay({ topic: t, group: 'a' })).toBe(1);
    await waitFor(() => attempts.length === 1, 'replayed delivery');
    expect(attempts).toEqual([1]);
    expect(await transport.deadLetters.count({ topic: t })).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(bSeen).toEqual(['dl-1']); // group b had it once, never the replay

    // purge
    failing = true;
    await transport.publish(t, [{ id: 'dl-2', body: body('x') }]);
    await waitFor(
      async () => (await transport.deadLetters.count({ group: 'a', topic: t })) === 1,
      'second dl',
    );
    expect(await transport.deadLetters.count({ ids: ['dl-2'] })).toBe(1);
    expect(await transport.deadLetters.purge({ topic: t, group: 'a', ids: ['dl-2'] })).toBe(1);
    expect(await transport.deadLetters.count({ topic: t })).toBe(0);
  });

  it('hands out high before normal before low', async () => {
    const t = topic();
    await transport.declareGroup(t, 'p');
    await transport.publish(t, [
      { id: 'l1', body: body(''), priority: 'low' },
      { id: 'n1', body: body('') },
      { id: 'h1', body: body(''), priority: 'high' },
      { id: 'l2', body: body(''), priority: 'low' },
      { id: 'h2', body: body(''), priority: 'high' },
    ]);
    const order: string[] = [];
    consumers.push(
      await transport.consume(
        t,
        'p',
        async (d) => {
          order.push(d.id);
          await d.ack();
        },
        { prefetch: 1 },
      ),
    );
    await waitFor(() => order.length === 5, 'five');
    expect(order.slice(0, 2).sort()).toEqual(['h1', 'h2']);
    expect(order[2]).toBe('n1');
    expect(order.slice(3).sort()).toEqual(['l1', 'l2']);
  });

  it('delivers a scheduled message not before its deliverAt, as attempt 1', async () => {
    const t = topic();
    await transport.declareGroup(t, 's');
    const got: { id: string; at: number; attempt: number }[] = [];
    consumers.push(
      await transport.consume(t, 's', async (d) => {
        got.push({ id: d.id, at: Date.now(), attempt: d.attempt });
        await d.ack();
      }),
    );
    const deliverAt = new Date(Date.now() + 1500);
    await transport.publish(t, [
      { id: 'later', body: body(''), deliverAt },
      { id: 'now', body: body('') },
    ]);
    await waitFor(() => got.length === 2, 'both');
    expect(got[0]?.id).toBe('now');
    expect(got[1]).toMatchObject({ id: 'later', attempt: 1 });
    expect(got[1]?.at).toBeGreaterThanOrEqual(deliverAt.getTime());
  });

  it('handles one message per ordering key at a time, in order, across members; a retry holds back only its partition', async () => {
    const t = topic();
    await transport.declareGroup(t, 'o');
    const active = new Map<string, number>();
    const order = new Map<string, number[]>();
    let overlap = false;
    let failedOnce = false;
    const handler = async (d: Delivery) => {
      const key = d.orderingKey as string;
      if ((active.get(key) ?? 0) > 0) overlap = true;
      active.set(key, (active.get(key) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 1));
      active.set(key, (active.get(key) ?? 0) - 1);
      if (key === 'k0' && !failedOnce) {
        failedOnce = true;
        return d.retry(100);
      }
      order.set(key, [...(order.get(key) ?? []), Number(dec.decode(d.body))]);
      await d.ack();
    };
    for (let m = 0; m < 3; m++) consumers.push(await transport.consume(t, 'o', handler, { prefetch: 8 }));
    const keys = Array.from({ length: 6 }, (_, i) => `k${i}`);
    const perKey = 15;
    const msgs = [];
    for (let i = 0; i < perKey; i++) {
      for (const k of keys) msgs.push({ id: `${k}-${i}`, body: body(String(i)), orderingKey: k });
    }
    await transport.publish(t, msgs);
    await waitFor(() => keys.every((k) => order.get(k)?.length === perKey), 'every key done', 30_000);
    expect(overlap).toBe(false);
    for (const k of keys) expect(order.get(k)).toEqual(Array.from({ length: perKey }, (_, i) => i));
  });

  it('refuses bad input with field errors and sends nothing', async () => {
    const t = topic();
    await transport.declareGroup(t, 'v');
    const tooBig = new Uint8Array(transport.capabilities.maxMessageBytes + 1);
    const cases: [unknown, string][] = [
      [[{ id: '', body: body('x') }], MessagingReasons.INVALID_MESSAGE],
      [[{ id: 'a', body: 'not bytes' }], MessagingReasons.INVALID_MESSAGE],
      [[{ id: 'a', body: body('x'), headers: { 'Nats-Msg-Id': 'x' } }], MessagingReasons.INVALID_MESSAGE],
      [[{ id: 'a', body: body('x'), headers: { ok: 'line\nbreak' } }], MessagingReasons.INVALID_MESSAGE],
      [[{ id: 'a', body: body('x'), priority: 'urgent' }], MessagingReasons.INVALID_MESSAGE],
      [[{ id: 'a', body: body('x'), deliverAt: new Date(Number.NaN) }], MessagingReasons.INVALID_MESSAGE],
      [
        [
          { id: 'ok', body: body('x') },
          { id: 'big', body: tooBig },
        ],
        MessagingReasons.MESSAGE_TOO_LARGE,
      ],
      [[{ id: 'a', body: body('x'), orderingKey: 'k', priority: 'high' }], MessagingReasons.UNSUPPORTED],
    ];
    for (const [messages, reason] of cases) {
      const err = await transport.publish(t, messages as never).catch((e: unknown) => e);
      expect(isSluiceError(err) && err.reason).toBe(reason);
    }
    const [s] = await transport.stats(t);
    expect(s).toMatchObject({ group: 'v', pending: 0, inFlight: 0, deadLettered: 0 });
    expect(transport.capabilities).toMatchObject({
      priority: 'emulated',
      delayedDelivery: 'emulated',
      orderingKey: 'emulated',
      deadLetters: 'emulated',
    });
    expect(transport.capabilities.maxMessageBytes).toBeGreaterThan(1000);
  });

  it('counts pending and in-flight messages per group', async () => {
    const t = topic();
    await transport.declareGroup(t, 'st');
    await transport.publish(
      t,
      [1, 2, 3].map((i) => ({ id: `s${i}`, body: body('') })),
    );
    expect((await transport.stats(t))[0]).toMatchObject({ topic: t, group: 'st', pending: 3, inFlight: 0 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started = 0;
    consumers.push(
      await transport.consume(
        t,
        'st',
        async (d) => {
          started++;
          await gate;
          await d.ack();
        },
        { prefetch: 1 },
      ),
    );
    await waitFor(() => started === 1, 'one started');
    expect((await transport.stats(t))[0]).toMatchObject({ pending: 2, inFlight: 1 });
    release();
    await waitFor(async () => (await transport.stats(t))[0]?.pending === 0 && started === 3, 'drained');
  });

  it('drops a second publish of the same id inside the duplicate window', async () => {
    const t = topic();
    await transport.declareGroup(t, 'd');
    await transport.publish(t, [{ id: 'same', body: body('1') }]);
    await transport.publish(t, [{ id: 'same', body: body('2') }]);
    expect((await transport.stats(t))[0]?.pending).toBe(1);
  });

  it('still delivers a scheduled message when the member that was holding it back is SIGKILLed', async () => {
    const t = topic();
    await transport.declareGroup(t, 'g');
    const child = spawnConsumerChild(`${NATS_URL}?prefix=${prefix}&idlePollMs=200`, t, 'g', 2_000);
    try {
      await waitFor(() => child.lines.some((l) => l.ready === true), 'the child to be ready', 30_000);
      const deliverAt = new Date(Date.now() + 2_500);
      await transport.publish(t, [{ id: 'sched-1', body: body('x'), deliverAt }]);
      // The child's member took the scheduled message and nak'ed it until it is due.
      const nc = await connect({ servers: NATS_URL });
      try {
        const jsm = await jetstreamManager(nc);
        const stream = topicNames(prefix, t).stream;
        await waitFor(
          async () => (await jsm.consumers.info(stream, SCHEDULER_CONSUMER)).num_ack_pending === 1,
          'the child to hold back the scheduled message',
        );
      } finally {
        await nc.close();
      }
      child.kill();
      await waitFor(() => child.process.signalCode !== null, 'the child to die');
    } finally {
      child.kill();
    }
    const got: { id: string; attempt: number; at: number }[] = [];
    consumers.push(
      await transport.consume(t, 'g', async (d) => {
        got.push({ id: d.id, attempt: d.attempt, at: Date.now() });
        await d.ack();
      }),
    );
    await waitFor(() => got.length === 1, 'the scheduled message', 30_000);
    expect(got[0]).toMatchObject({ id: 'sched-1', attempt: 1 });
    await waitFor(async () => (await transport.stats(t))[0]?.pending === 0, 'nothing left scheduled');
    expect(child.lines.filter((l) => l.id !== undefined)).toEqual([]);
  });

  it('holds back the keys sharing a partition with a held key (the documented limit of partitions)', async () => {
    const one = await createNatsTransport({ url: NATS_URL, prefix, partitions: 1, idlePollMs: 200 });
    try {
      const t = topic();
      await one.declareGroup(t, 'p1');
      const release = { open: () => {} };
      const held = new Promise<void>((r) => {
        release.open = r;
      });
      const got: string[] = [];
      consumers.push(
        await one.consume(
          t,
          'p1',
          async (d) => {
            got.push(d.id);
            if (d.id === 'A-1') await held;
            await d.ack();
          },
          { prefetch: 4 },
        ),
      );
      await one.publish(t, [
        { id: 'A-1', body: body(''), orderingKey: 'A' },
        { id: 'B-1', body: body(''), orderingKey: 'B' },
      ]);
      await waitFor(() => got.length === 1, 'A-1 to start');
      // With one partition, B-1 waits behind A-1 although it has another key.
      const s = (await one.stats(t))[0];
      expect(s).toMatchObject({ pending: 1, inFlight: 1 });
      expect(got).toEqual(['A-1']);
      release.open();
      await waitFor(() => got.length === 2, 'B-1 after A-1');
      expect(got).toEqual(['A-1', 'B-1']);
    } finally {
      await Promise.all(consumers.splice(0).map((c) => c.stop()));
      await one.close();
    }
  });

  it('gives back at once what a stopping consumer did not settle within its timeout', async () => {
    const t = topic();
    await transport.declareGroup(t, 'gb');
    await transport.publish(t, [{ id: 'stuck', body: body('') }]);
    const first: Delivery[] = [];
    const stuck = await transport.consume(
      t,
      'gb',
      async (d) => {
        first.push(d);
        await new Promise(() => {}); // never settles
      },
      { leaseMs: 60_000 },
    );
    await waitFor(() => first.length === 1, 'the first delivery');
    await stuck.stop(100);
    const again: Delivery[] = [];
    consumers.push(
      await transport.consume(
        t,
        'gb',
        async (d) => {
          again.push(d);
          await d.ack();
        },
        { leaseMs: 60_000 },
      ),
    );
    // Well within the 60 s lease: only the give-back can have released it.
    await waitFor(() => again.length === 1, 'the given-back message', 20_000);
    expect(again[0]).toMatchObject({ id: 'stuck', attempt: 2 });
    await first[0]?.ack(); // settling the given-back delivery later is a no-op
  });

  it('lists NATS field errors before size errors, all in one error', async () => {
    const t = topic();
    const err = await transport
      .publish(t, [
        { id: 'a', body: body('x'), headers: { 'Sluice-X': '1' } },
        { id: 'b', body: new Uint8Array(transport.capabilities.maxMessageBytes + 1) },
        { id: '', body: body('x') },
      ])
      .catch((e: unknown) => e);
    expect(isSluiceError(err) && err.reason).toBe(MessagingReasons.INVALID_MESSAGE);
    const fields = isSluiceError(err) ? (err.details?.violations ?? []).map((v) => v.field).sort() : [];
    expect(fields).toEqual(['messages.0.headers.Sluice-X', 'messages.2.id']);
  });

  it('is closed after close(), idempotently', async () => {
    const other = await createNatsTransport({ url: NATS_URL, prefix });
    await other.close();
    await other.close();
    const err = await other.publish('x', []).catch((e: unknown) => e);
    expect(isSluiceError(err) && err.reason).toBe(MessagingReasons.CLOSED);
  });
});
