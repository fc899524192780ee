import { createShopEventRegistry } from '@sluice/contracts';
import { constant } from '@sluice/resilience';
import { afterEach, describe, expect, it } from 'vitest';
import { type Bus, createBus, type DeadLetterEvent } from '../bus/bus.js';
import { enc, rabbitHarness, waitFor } from './rabbitmq.test-support.js';

const registry = createShopEventRegistry();
let harness = rabbitHarness();
let bus: Bus | undefined;
afterEach(async () => {
  await bus?.close();
  bus = undefined;
  await harness.cleanup();
  harness = rabbitHarness();
});

describe('createBus over the RabbitMQ transport', () => {
  it('retries with the backoff through the delay queues, then dead-letters with MESSAGING_MAX_ATTEMPTS', async () => {
    bus = await createBus({ url: harness.url, source: 'notification', registry });
    const dead: DeadLetterEvent[] = [];
    bus.onDeadLetter((d) => dead.push(d));
    const attempts: number[] = [];
    await bus.subscribe(
      'notification.sent',
      { group: 'mailer', maxAttempts: 3, backoff: constant(100) },
      async (_e, ctx) => {
        attempts.push(ctx.attempt);
        throw new Error('smtp down');
      },
    );
    const event = bus.event({
      type: 'notification.sent',
      subject: 'm-1',
      data: { messageId: 'm-1', to: 'a@example.com', templateId: 'order-confirmed' },
    });
    await bus.publish(event);
    await waitFor(() => dead.length === 1, 'the dead letter');
    expect(attempts).toEqual([1, 2, 3]);
    const dl = await bus.deadLetters.get('notification.sent', 'mailer', event.id);
    expect(dl?.reason).toBe('MESSAGING_MAX_ATTEMPTS');
    expect(dl?.attempts).toBe(3);
    expect(JSON.parse(new TextDecoder().decode(dl?.body)).id).toBe(event.id);
  });

  it('dead-letters a non-JSON body with MESSAGING_INVALID_MESSAGE and keeps consuming', async () => {
    bus = await createBus({ url: harness.url, source: 'notification', registry });
    const handled: string[] = [];
    await bus.subscribe('notification.sent', { group: 'audit' }, async (e) => {
      handled.push(e.id);
    });
    await bus.transport.publish('notification.sent', [{ id: 'junk-1', body: enc('not json {') }]);
    const event = bus.event({
      type: 'notification.sent',
      subject: 'm-2',
      data: { messageId: 'm-2', to: 'b@example.com', templateId: 'order-confirmed' },
    });
    await bus.publish(event);
    await waitFor(() => handled.length === 1, 'the valid event');
    await waitFor(
      async () => (await bus?.deadLetters.count({ topic: 'notification.sent' })) === 1,
      'the DLQ entry',
    );
    const [dl] = (await bus.deadLetters.list({ topic: 'notification.sent' })) ?? [];
    expect(dl?.id).toBe('junk-1');
    expect(dl?.reason).toBe('MESSAGING_INVALID_MESSAGE');
    expect(handled).toEqual([event.id]);
  });
});
