import { createShopEventRegistry, type EventEnvelope } from '@sluice/contracts';
import { SluiceError } from '@sluice/errors';
import { constant } from '@sluice/resilience';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../conformance/conformance-helpers.js';
import { tempEmbedded } from '../embedded/temp-transport.test-support.js';
import type { Transport } from '../transport.js';
import { type Bus, createBus, type DeadLetterEvent, type RetryEvent } from './bus.js';

const registry = createShopEventRegistry();
const enc = (s: string) => new TextEncoder().encode(s);

describe('createBus', () => {
  let env: Awaited<ReturnType<typeof tempEmbedded>>;
  let transport: Transport;
  let bus: Bus;

  beforeEach(async () => {
    env = await tempEmbedded();
    transport = env.transport;
    bus = await createBus({ transport, source: 'notification', registry });
  });

  afterEach(async () => {
    await bus.close();
    await env.dispose();
  });

  const sent = (n: number, extra: Record<string, unknown> = {}) =>
    bus.event({
      type: 'notification.sent',
      subject: `m-${n}`,
      data: { messageId: `m-${n}`, to: 'a@example.com', templateId: 'order-confirmed', ...extra },
    });

  it('publishes to the topic named after the event type and gives every group the validated envelope', async () => {
    const got: Array<[string, EventEnvelope, number]> = [];
    for (const group of ['audit', 'stats'])
      await bus.subscribe('notification.sent', { group }, async (event, ctx) => {
        got.push([group, event, ctx.attempt]);
      });
    const event = sent(1);
    await bus.publish(event);
    await waitFor('both groups', () => got.length === 2);
    for (const [, e, attempt] of got) {
      expect(e.id).toBe(event.id);
      expect(e.source).toBe('notification');
      expect(e.data).toEqual(event.data);
      expect(attempt).toBe(1);
    }
    expect(got.map(([g]) => g).sort()).toEqual(['audit', 'stats']);
  });

  it('refuses an invalid event at publish with every violation, and sends nothing', async () => {
    await transport.declareGroup('notification.sent', 'g');
    const bad = { ...sent(2), data: { messageId: '', to: 'x' } };
    const e = await bus.publish(bad as EventEnvelope).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SluiceError);
    expect((e as SluiceError).code).toBe('invalid_argument');
    expect((e as SluiceError).reason).toBe('MESSAGING_INVALID_MESSAGE');
    const fields = (e as SluiceError).violations.map((v) => v.field);
    expect(fields).toEqual(expect.arrayContaining(['data.messageId', 'data.to', 'data.templateId']));
    const unknown = await bus
      .publish({ ...sent(3), type: 'nobody.knows', dataschema: 'urn:sluice:schema:nobody.knows:v1' })
      .catch((x: unknown) => x);
    expect((unknown as SluiceError).reason).toBe('MESSAGING_INVALID_MESSAGE');
    expect((unknown as SluiceError).details?.metadata?.cause).toBe('CONTRACTS_UNKNOWN_EVENT_TYPE');
    // A batch with one bad event sends none of them.
    const batch = await bus
      .publishBatch([{ event: sent(4) }, { event: bad as EventEnvelope }])
      .catch((x: unknown) => x);
    expect((batch as SluiceError).violations[0]?.field).toMatch(/^entries\.1\.data/);
    const [stats] = await bus.stats('notification.sent');
    expect(stats?.pending).toBe(0);
  });

  it('refuses an event larger than maxMessageBytes', async () => {
    const small = await createBus({ transport, source: 'x', registry, maxMessageBytes: 300 });
    const e = await small
      .publish(sent(5, { templateId: 'a'.repeat(60) }), { headers: {} })
      .then(() => small.publish({ ...sent(6), subject: 's'.repeat(250) }))
      .catch((x: unknown) => x);
    expect((e as SluiceError).reason).toBe('MESSAGING_MESSAGE_TOO_LARGE');
    await small.close();
  });

  it('dead-letters at once on a non-retryable SluiceError, with its reason', async () => {
    const dead: DeadLetterEvent[] = [];
    bus.onDeadLetter((d) => dead.push(d));
    let calls = 0;
    await bus.subscribe('notification.sent', { group: 'g', maxAttempts: 5 }, async () => {
      calls++;
      throw new SluiceError({
        code: 'invalid_argument',
        reason: 'NOTIFICATION_BAD_ADDRESS',
        message: 'no such mailbox',
      });
    });
    const event = sent(7);
    await bus.publish(event);
    await waitFor('the dead letter', () => dead.length === 1);
    expect(calls).toBe(1);
    const dl = await bus.deadLetters.get('notification.sent', 'g', event.id);
    expect(dl?.reason).toBe('NOTIFICATION_BAD_ADDRESS');
    expect(dl?.error).toBe('no such mailbox');
    expect(dl?.attempts).toBe(1);
    expect(JSON.parse(new TextDecoder().decode(dl?.body)).id).toBe(event.id);
  });

  it('retries other errors with the backoff, then dead-letters with MESSAGING_MAX_ATTEMPTS', async () => {
    const retries: RetryEvent[] = [];
    const dead: DeadLetterEvent[] = [];
    bus.onRetry((r) => retries.push(r));
    const dispose = bus.onDeadLetter((d) => dead.push(d));
    const attempts: number[] = [];
    await bus.subscribe(
      'notification.sent',
      { group: 'g', maxAttempts: 3, backoff: constant(20) },
      async (_e, ctx) => {
        attempts.push(ctx.attempt);
        throw new Error('smtp down');
      },
    );
    const event = sent(8);
    await bus.publish(event);
    await waitFor('the dead letter', () => dead.length === 1);
    dispose();
    expect(attempts).toEqual([1, 2, 3]);
    expect(retries.map((r) => [r.attempt, r.delayMs, r.error])).toEqual([
      [1, 20, 'smtp down'],
      [2, 20, 'smtp down'],
    ]);
    const dl = await bus.deadLetters.get('notification.sent', 'g', event.id);
    expect(dl?.reason).toBe('MESSAGING_MAX_ATTEMPTS');
    expect(dl?.error).toContain('smtp down');
    expect(dl?.attempts).toBe(3);
  });

  it('dead-letters bad messages at consume with MESSAGING_INVALID_MESSAGE and keeps consuming', async () => {
    const handled: string[] = [];
    await bus.subscribe('notification.sent', { group: 'g' }, async (event) => {
      handled.push(event.id);
    });
    const good = sent(9);
    const missing: Record<string, unknown> = { ...sent(10) };
    delete missing.source;
    const bodies: Array<[string, Uint8Array]> = [
      ['not-json', enc('{"truncated":')],
      ['not-utf8', new Uint8Array([0xff, 0xfe, 0x00])],
      ['missing', enc(JSON.stringify(missing))],
      ['unknown', enc(JSON.stringify({ ...sent(11), type: 'x.y', dataschema: 'urn:sluice:schema:x.y:v1' }))],
      ['bad-data', enc(JSON.stringify({ ...sent(12), data: { messageId: 'm', to: 1 } }))],
    ];
    await transport.publish(
      'notification.sent',
      bodies.map(([id, body]) => ({ id, body })),
    );
    await bus.publish(good);
    await waitFor('the good event', () => handled.includes(good.id));
    await waitFor('5 dead letters', async () => (await bus.deadLetters.count({ group: 'g' })) === 5);
    expect(handled).toEqual([good.id]);
    const dls = await bus.deadLetters.list({ group: 'g' });
    expect(dls.every((d) => d.reason === 'MESSAGING_INVALID_MESSAGE' && d.attempts === 1)).toBe(true);
    const byId = Object.fromEntries(dls.map((d) => [d.id, d.error]));
    expect(byId['not-json']).toContain('not UTF-8 JSON');
    expect(byId.unknown).toContain('CONTRACTS_UNKNOWN_EVENT_TYPE');
    expect(byId['bad-data']).toContain('data.to');
    expect(byId.missing).toContain('source');
  });

  it('dead-letters without running the handler a message that arrives past maxAttempts', async () => {
    // A raw consumer takes it twice and "dies" each time (returns without settling: the lease lapses).
    let taken = 0;
    const raw = await transport.consume(
      'notification.sent',
      'g',
      async () => {
        taken++;
      },
      { leaseMs: 150 },
    );
    const event = sent(13);
    await bus.publish(event);
    await waitFor('two deliveries', () => taken >= 2);
    await raw.stop();
    let calls = 0;
    await bus.subscribe('notification.sent', { group: 'g', maxAttempts: 2, leaseMs: 150 }, async () => {
      calls++;
    });
    await waitFor(
      'the dead letter',
      async () => (await bus.deadLetters.get('notification.sent', 'g', event.id)) !== undefined,
    );
    const dl = await bus.deadLetters.get('notification.sent', 'g', event.id);
    expect(dl?.reason).toBe('MESSAGING_MAX_ATTEMPTS');
    expect(dl?.attempts).toBeGreaterThanOrEqual(3);
    expect(calls).toBe(0);
  });

  it('runs a work queue: sent before any worker, handled once, replayed from the DLQ', async () => {
    const email = bus.event({
      type: 'email.send',
      data: { messageId: 'e-1', to: 'a@example.com', subject: 'Hi', templateId: 'welcome', templateData: {} },
    });
    await bus.send('email.send', email, { priority: 'high' });
    const [s] = await bus.stats('email.send');
    expect(s).toMatchObject({ group: 'default', pending: 1 });
    let fail = true;
    const seen: number[] = [];
    await bus.work('email.send', { maxAttempts: 1 }, async (event, ctx) => {
      seen.push(ctx.attempt);
      expect(ctx.priority).toBe('high');
      expect(event.id).toBe(email.id);
      if (fail) throw new Error('mailbox full');
    });
    await waitFor(
      'the dead letter',
      async () => (await bus.deadLetters.count({ topic: 'email.send' })) === 1,
    );
    fail = false;
    expect(await bus.deadLetters.replay({ topic: 'email.send' })).toBe(1);
    await waitFor('the replayed message handled', async () => {
      const [x] = await bus.stats('email.send');
      return seen.length === 2 && x?.pending === 0 && x.inFlight === 0 && x.deadLettered === 0;
    });
    expect(seen).toEqual([1, 1]);
  });

  it('closes gracefully: waits for the running handler and its ack, then refuses work', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let started = false;
    await bus.subscribe('notification.sent', { group: 'g' }, async () => {
      started = true;
      await held;
    });
    await bus.publish(sent(14));
    await waitFor('the handler', () => started);
    let closed = false;
    const closing = bus.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    release();
    await closing;
    const [s] = await transport.stats('notification.sent');
    expect(s).toMatchObject({ pending: 0, inFlight: 0 });
    await expect(bus.publish(sent(15))).rejects.toMatchObject({ reason: 'MESSAGING_CLOSED' });
    await bus.close();
  });

  it('refuses bad options with invalid_argument', async () => {
    await expect(createBus({ source: '', transport })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(createBus({ source: 'x' })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(bus.subscribe('t', { group: 'bad group' }, async () => {})).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(bus.subscribe('t', { group: 'g', maxAttempts: 0 }, async () => {})).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });
});
