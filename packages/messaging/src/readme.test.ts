import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShopEventRegistry } from '@sluice/contracts';
import { constant } from '@sluice/resilience';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from './conformance/conformance-helpers.js';
import { createBus } from './index.js';

// The README's examples, run as written (the database path in a temp dir,
// console.log and deliver() recorded).
describe('README examples', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-readme-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes and subscribes on the embedded transport', async () => {
    const logged: unknown[][] = [];
    const console = { log: (...args: unknown[]) => logged.push(args) };

    const bus = await createBus({
      url: `sqlite:${join(dir, 'data/bus.db')}`,
      source: 'notification',
      registry: createShopEventRegistry(),
    });

    await bus.subscribe('notification.sent', { group: 'audit' }, async (event, ctx) => {
      console.log(`${event.type} ${event.id}, attempt ${ctx.attempt}`, event.data);
    });

    await bus.publish(
      bus.event({
        type: 'notification.sent',
        subject: 'm-1',
        data: { messageId: 'm-1', to: 'ada@example.com', templateId: 'order-confirmed' },
      }),
      { orderingKey: 'm-1' },
    );

    await waitFor('the handler', () => logged.length === 1);
    await bus.close();
    expect(logged[0]?.[0]).toMatch(/^notification\.sent .+, attempt 1$/);
    expect(logged[0]?.[1]).toEqual({
      messageId: 'm-1',
      to: 'ada@example.com',
      templateId: 'order-confirmed',
    });
  });

  it('runs a work queue, dead-letters after maxAttempts and replays', async () => {
    const bus = await createBus({
      url: `sqlite:${join(dir, 'data/bus.db')}`,
      source: 'notification',
      registry: createShopEventRegistry(),
    });
    const delivered: unknown[] = [];
    const deliver = async (data: unknown) => {
      delivered.push(data);
    };

    let smtpUp = false;
    await bus.work('email.send', { maxAttempts: 3, backoff: constant(100) }, async (event) => {
      if (!smtpUp) throw new Error('SMTP server unavailable'); // retried after 100 ms, 3 attempts in all
      await deliver(event.data);
    });

    await bus.send(
      'email.send',
      bus.event({
        type: 'email.send',
        data: {
          messageId: 'e-1',
          to: 'ada@example.com',
          subject: 'Welcome',
          templateId: 'welcome',
          templateData: {},
        },
      }),
      { priority: 'high' },
    );

    await waitFor(
      'the dead letter',
      async () => (await bus.deadLetters.count({ topic: 'email.send' })) === 1,
    );
    // After three failed attempts the message is in the dead-letter queue…
    const [dead] = await bus.deadLetters.list({ topic: 'email.send' });
    expect(dead?.reason).toBe('MESSAGING_MAX_ATTEMPTS');
    expect(dead?.attempts).toBe(3);
    expect(dead?.error).toBe('gave up after 3 attempts: SMTP server unavailable');

    // …until an operator fixes the cause and replays it (attempts count from 1 again).
    smtpUp = true;
    await bus.deadLetters.replay({ topic: 'email.send', ids: [dead?.id as string] });

    await waitFor('the delivery', () => delivered.length === 1);
    expect(delivered[0]).toMatchObject({ messageId: 'e-1', to: 'ada@example.com' });
    await bus.close();
  });
});
