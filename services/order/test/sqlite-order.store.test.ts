import { fileURLToPath } from 'node:url';
import { loadMigrations, migrateSqlite } from '@sluice/service';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { ChangeOrderStatus } from '../src/application/change-order-status.use-case.js';
import type { ProductCatalog } from '../src/application/order.store.js';
import { PlaceOrder } from '../src/application/place-order.use-case.js';
import { InvalidTransitionError, UnknownProductError } from '../src/domain/order-errors.js';
import { SqliteOrderStore } from '../src/infrastructure/sqlite-order.store.js';

const migrations = loadMigrations(fileURLToPath(new URL('../migrations/sqlite', import.meta.url)));

// The catalog port answered from a fixed price list (the product service's client adapter is tested on its own).
const catalog: ProductCatalog = {
  async prices(ids) {
    const list = new Map([
      ['p1', { amount: 1999, currency: 'USD' }],
      ['p2', { amount: 500, currency: 'USD' }],
    ]);
    return new Map(ids.filter((id) => list.has(id)).map((id) => [id, list.get(id)!]));
  },
};

describe('orders on SQLite', () => {
  let db: Database.Database;
  let store: SqliteOrderStore;
  let place: PlaceOrder;
  let status: ChangeOrderStatus;

  beforeEach(() => {
    db = new Database(':memory:');
    migrateSqlite(db, migrations);
    db.exec('CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT NOT NULL, body TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?)');
    store = new SqliteOrderStore(db, (events) => {
      for (const e of events) insert.run(e.id, e.type, JSON.stringify(e));
    });
    let n = 0;
    const deps = {
      store,
      catalog,
      now: () => new Date(Date.now() + n),
      newId: () => `o-${++n}`,
      source: 'order',
    };
    place = new PlaceOrder(deps);
    status = new ChangeOrderStatus(deps);
  });

  const cmd = (key = 'k1', items = [{ productId: 'p1', quantity: 2 }]) => ({
    customerId: 'c1',
    items,
    payment: { cardToken: 'tok_ok' },
    idempotencyKey: key,
  });
  const events = () =>
    db
      .prepare<[], { type: string; body: string }>('SELECT type, body FROM events ORDER BY rowid')
      .all()
      .map((r) => ({ type: r.type, ...JSON.parse(r.body) }));

  it('places one order per key and writes order.placed with the card token', async () => {
    const [a, b] = await Promise.all([place.execute(cmd()), place.execute(cmd())]);
    expect(a.order.id).toBe(b.order.id);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(a.order.total).toEqual({ amount: 3998, currency: 'USD' });
    const [placed] = events();
    expect(events()).toHaveLength(1);
    expect(placed).toMatchObject({ type: 'order.placed', subject: a.order.id, correlationid: a.order.id });
    expect(placed.data.payment).toEqual({ cardToken: 'tok_ok' });
  });

  it('refuses unknown products and writes nothing', async () => {
    const err = await place.execute(cmd('k2', [{ productId: 'nope', quantity: 1 }])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownProductError);
    expect(events()).toEqual([]);
  });

  it('confirms or cancels once, with events, and lists a customer’s orders newest first', async () => {
    const { order: o1 } = await place.execute(cmd('a'));
    const { order: o2 } = await place.execute(cmd('b', [{ productId: 'p2', quantity: 1 }]));
    await status.confirm(o1.id, { paymentId: 'pay-1' });
    await status.confirm(o1.id);
    await status.cancel(o2.id, 'PAYMENT_DECLINED', 'card_declined');
    await expect(status.confirm(o2.id)).rejects.toBeInstanceOf(InvalidTransitionError);
    expect(events().map((e) => e.type)).toEqual([
      'order.placed',
      'order.placed',
      'order.confirmed',
      'order.cancelled',
    ]);
    const list = await store.listByCustomer('c1', 10);
    expect(list.map((o) => [o.id, o.status])).toEqual([
      [o2.id, 'cancelled'],
      [o1.id, 'confirmed'],
    ]);
    expect((await store.get(o2.id))?.reason).toBe('PAYMENT_DECLINED');
  });
});
