import { createEnvelope, createShopEventRegistry, type EventEnvelope, money } from '@sluice/contracts';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChoreographyInbox, ChoreographyOutbox, FlowEventSource } from './ports.js';
import { react } from './react.js';
import { traceFlow } from './trace-flow.js';

/**
 * Minimal SQLite inbox/outbox standing in for @sluice/messaging's (not
 * available to this package yet): real transactions in a real database.
 */
function sqliteChoreography(db: Database.Database) {
  db.exec(`CREATE TABLE inbox (consumer TEXT, event_id TEXT, handled_at INTEGER, PRIMARY KEY (consumer, event_id));
           CREATE TABLE outbox (id TEXT PRIMARY KEY, correlation_id TEXT, envelope TEXT);
           CREATE TABLE stock (order_id TEXT PRIMARY KEY, reserved INTEGER)`);
  const inbox: ChoreographyInbox<Database.Database> = {
    async handleOnce(consumer, event, work) {
      db.exec('BEGIN IMMEDIATE');
      try {
        const fresh = db
          .prepare('INSERT INTO inbox VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
          .run(consumer, event.id, Date.now()).changes;
        if (fresh === 0) {
          db.exec('ROLLBACK');
          return false;
        }
        await work(db);
        db.exec('COMMIT');
        return true;
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    },
  };
  const outbox: ChoreographyOutbox<Database.Database> = {
    add(tx, events) {
      const insert = tx.prepare('INSERT INTO outbox VALUES (?, ?, ?)');
      for (const e of events) insert.run(e.id, e.correlationid, JSON.stringify(e));
    },
  };
  const flows: FlowEventSource = {
    async listByCorrelation(id) {
      const rows = db.prepare('SELECT envelope FROM outbox WHERE correlation_id = ?').all(id) as {
        envelope: string;
      }[];
      return rows.map((r) => ({ event: JSON.parse(r.envelope) as EventEnvelope }));
    },
  };
  return { inbox, outbox, flows };
}

const placed = () =>
  createEnvelope({
    type: 'order.placed',
    source: 'order',
    subject: 'o-1',
    data: {
      orderId: 'o-1',
      customerId: 'c-1',
      items: [{ productId: 'sku-1', quantity: 2, unitPrice: money(100, 'USD') }],
      total: money(200, 'USD'),
      payment: { cardToken: 'tok_ok' },
    },
  });

describe('react', () => {
  let db: Database.Database;
  beforeEach(() => {
    db = new Database(':memory:');
  });
  afterEach(() => db.close());

  it('handles an event once, publishing follow-ups with causation and correlation kept, in one transaction', async () => {
    const { inbox, outbox, flows } = sqliteChoreography(db);
    const registry = createShopEventRegistry();
    let t = Date.UTC(2026, 0, 1);
    const reserve = react<
      { orderId: string; items: { productId: string; quantity: number }[] },
      Database.Database
    >(
      'order.placed',
      (event, { tx, emit, idempotencyKey }) => {
        expect(idempotencyKey).toBe(`inventory:${event.id}`);
        tx.prepare('INSERT INTO stock VALUES (?, ?)').run(event.data.orderId, event.data.items[0]?.quantity);
        emit('inventory.reserved', {
          orderId: event.data.orderId,
          reservationId: 'r-1',
          items: event.data.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
          expiresAt: '2026-01-01T00:15:00.000Z',
        });
      },
      { consumer: 'inventory', source: 'inventory', inbox, outbox, registry, now: () => (t += 5) },
    );
    const event = placed();
    const first = await reserve.handle(event);
    expect(first.handled).toBe(true);
    expect(first.emitted).toHaveLength(1);
    const [reserved] = first.emitted;
    expect(reserved).toMatchObject({
      type: 'inventory.reserved',
      source: 'inventory',
      subject: 'o-1',
      correlationid: event.correlationid,
      causationid: event.id,
      time: new Date(Date.UTC(2026, 0, 1) + 5).toISOString(),
    });
    // Redelivery: no second effect, nothing published again.
    expect(await reserve.handle(event)).toEqual({ handled: false, emitted: [] });
    expect(db.prepare('SELECT COUNT(*) AS n FROM stock').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT COUNT(*) AS n FROM outbox').get()).toEqual({ n: 1 });
    const trace = await traceFlow(event.correlationid, { source: flows });
    expect(trace.steps.map((s) => s.event.type)).toEqual(['inventory.reserved']);
  });

  it('rolls back the handler’s state, its inbox mark and its follow-ups together when it throws', async () => {
    const { inbox, outbox } = sqliteChoreography(db);
    let fail = true;
    const reaction = react(
      'order.placed',
      (_event, { tx, emit }) => {
        (tx as Database.Database).prepare('INSERT INTO stock VALUES (?, ?)').run('o-1', 1);
        emit('inventory.reservation_failed', { orderId: 'o-1', reason: 'none left' });
        if (fail) throw new Error('crash mid-handler');
      },
      { consumer: 'inventory', source: 'inventory', inbox, outbox },
    );
    const event = placed();
    await expect(reaction.handle(event)).rejects.toThrow('crash mid-handler');
    expect(
      db
        .prepare(
          'SELECT (SELECT COUNT(*) FROM stock) + (SELECT COUNT(*) FROM outbox) + (SELECT COUNT(*) FROM inbox) AS n',
        )
        .get(),
    ).toEqual({ n: 0 });
    fail = false;
    expect((await reaction.handle(event)).handled).toBe(true); // the redelivery now succeeds
  });

  it('refuses an event of another type and invalid events with invalid_argument', async () => {
    const { inbox, outbox } = sqliteChoreography(db);
    const reaction = react('order.placed', () => {}, {
      consumer: 'inventory',
      source: 'inventory',
      inbox,
      outbox,
      registry: createShopEventRegistry(),
    });
    const wrong = createEnvelope({ type: 'order.cancelled', source: 'order', data: {} });
    await expect(reaction.handle(wrong)).rejects.toMatchObject({
      code: 'invalid_argument',
      reason: 'SAGA_UNEXPECTED_EVENT',
    });
    const bad = { ...placed(), data: { orderId: '' } };
    await expect(reaction.handle(bad)).rejects.toMatchObject({
      code: 'invalid_argument',
      reason: 'CONTRACTS_INVALID_EVENT',
    });
    expect(db.prepare('SELECT COUNT(*) AS n FROM inbox').get()).toEqual({ n: 0 });
  });
});
