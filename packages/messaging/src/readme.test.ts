import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShopEventRegistry, money } from '@sluice/contracts';
import { constant } from '@sluice/resilience';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from './conformance/conformance-helpers.js';
import { createBus, createOutboxRelay, createSqliteInbox, createSqliteOutbox } from './index.js';

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

  it('commits a state change with its event, relays it and handles it once through the inbox', async () => {
    const data = (name: string) => join(dir, 'data', name);
    const registry = createShopEventRegistry();
    const bus = await createBus({ url: `sqlite:${data('bus.db')}`, source: 'order', registry });

    // The order service: its own database, with the outbox table in it.
    const orders = new Database(data('order.db'));
    orders.exec('CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, status TEXT NOT NULL)');
    const outbox = createSqliteOutbox(orders, { registry });
    outbox.install();

    const placeOrder = orders.transaction((orderId: string) => {
      orders.prepare('INSERT INTO orders (id, status) VALUES (?, ?)').run(orderId, 'pending');
      // Validated here: a bad event throws invalid_argument and the order is rolled back too.
      outbox.add([
        bus.event({
          type: 'order.placed',
          subject: orderId, // the ordering key: one order's events are published in order
          data: {
            orderId,
            customerId: 'c-1',
            items: [{ productId: 'p-1', quantity: 2, unitPrice: money(1250, 'EUR') }],
            total: money(2500, 'EUR'),
            payment: { cardToken: 'tok_visa' },
          },
        }),
      ]);
    });

    // The inventory service: the reservation and the "handled" mark commit together.
    const inventory = new Database(data('inventory.db'));
    inventory.exec('CREATE TABLE IF NOT EXISTS reservations (order_id TEXT NOT NULL)');
    const inbox = createSqliteInbox(inventory);
    inbox.install();
    await bus.subscribe(
      'order.placed',
      { group: 'inventory' },
      inbox.handler<{ orderId: string }>('inventory', (event) => {
        inventory.prepare('INSERT INTO reservations (order_id) VALUES (?)').run(event.data.orderId);
      }),
    );

    const relay = createOutboxRelay({ outbox, bus });
    await relay.start(); // woken by every commit of `placeOrder`, no polling delay

    placeOrder('o-1');

    const reservations = () => inventory.prepare('SELECT order_id FROM reservations').all();
    await waitFor('the reservation', () => reservations().length === 1);
    // A bad event rolls the order back with it.
    expect(() =>
      orders.transaction(() => {
        orders.prepare('INSERT INTO orders (id, status) VALUES (?, ?)').run('o-2', 'pending');
        outbox.add([bus.event({ type: 'order.placed', subject: 'o-2', data: { orderId: 'o-2' } })]);
      })(),
    ).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    // The same event delivered again has no second effect.
    const [row] = orders.prepare('SELECT envelope FROM sluice_outbox').all() as { envelope: string }[];
    await bus.publish(JSON.parse(row?.envelope as string));
    await waitFor('the duplicate settled', async () =>
      (await bus.stats('order.placed')).every((g) => g.pending + g.inFlight === 0),
    );

    // On shutdown: the relay finishes its round, then the bus lets handlers finish.
    await relay.stop();
    await bus.close();
    expect(reservations()).toEqual([{ order_id: 'o-1' }]);
    expect(orders.prepare('SELECT id FROM orders').all()).toEqual([{ id: 'o-1' }]);
    orders.close();
    inventory.close();
  });
});
