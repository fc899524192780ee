import { fileURLToPath } from 'node:url';
import { loadMigrations, migratePostgres, migrateSqlite } from '@sluice/service';
import { tempPgSchemas } from '@sluice/testing';
import Database from 'better-sqlite3';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ChangeOrderStatus } from '../src/application/change-order-status.use-case.js';
import type { OrderStore, ProductCatalog } from '../src/application/order.store.js';
import { PlaceOrder } from '../src/application/place-order.use-case.js';
import { InvalidTransitionError, UnknownProductError } from '../src/domain/order-errors.js';
import { PgOrderStore } from '../src/infrastructure/pg-order.store.js';
import { SqliteOrderStore } from '../src/infrastructure/sqlite-order.store.js';

const dir = (kind: string) => fileURLToPath(new URL(`../migrations/${kind}`, import.meta.url));
type Harness = { store: OrderStore; events(): Promise<{ type: string; [k: string]: unknown }[]> };
const pgs = tempPgSchemas();
const pool = pgs.pool;
afterAll(() => pgs.dispose());

// Each store writes the events of a change to a table in the same transaction, as the outbox does.
const stores: [string, () => Promise<Harness>][] = [
  [
    'SQLite',
    async () => {
      const db = new Database(':memory:');
      migrateSqlite(db, loadMigrations(dir('sqlite')));
      db.exec('CREATE TABLE events (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
      const insert = db.prepare('INSERT INTO events VALUES (?, ?)');
      return {
        store: new SqliteOrderStore(db, (events) => {
          for (const e of events) insert.run(e.id, JSON.stringify(e));
        }),
        events: async () =>
          db
            .prepare<[], { body: string }>('SELECT body FROM events ORDER BY rowid')
            .all()
            .map((r) => JSON.parse(r.body)),
      };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const schema = await pgs.create('order_test');
      await migratePostgres(pool, schema, loadMigrations(dir('postgres')));
      await pool.query(`CREATE TABLE ${schema}.events (seq SERIAL PRIMARY KEY, body JSONB NOT NULL)`);
      return {
        store: new PgOrderStore(pool, schema, async (c, events) => {
          for (const e of events)
            await c.query(`INSERT INTO ${schema}.events (body) VALUES ($1)`, [JSON.stringify(e)]);
        }),
        events: async () =>
          (await pool.query(`SELECT body FROM ${schema}.events ORDER BY seq`)).rows.map((r) => r.body),
      };
    },
  ],
];

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

describe.each(stores)('orders on %s', (_name, makeStore) => {
  let harness: Harness;
  let store: OrderStore;
  let place: PlaceOrder;
  let status: ChangeOrderStatus;

  beforeEach(async () => {
    harness = await makeStore();
    store = harness.store;
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
  const events = () => harness.events();

  it('places one order per key and writes order.placed with the card token', async () => {
    const [a, b] = await Promise.all([place.execute(cmd()), place.execute(cmd())]);
    expect(a.order.id).toBe(b.order.id);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(a.order.total).toEqual({ amount: 3998, currency: 'USD' });
    const [placed] = (await events()) as {
      type: string;
      subject: string;
      correlationid: string;
      data: { payment: unknown };
    }[];
    expect(await events()).toHaveLength(1);
    expect(placed).toMatchObject({ type: 'order.placed', subject: a.order.id, correlationid: a.order.id });
    expect(placed?.data.payment).toEqual({ cardToken: 'tok_ok' });
  });

  it('refuses unknown products and writes nothing', async () => {
    const err = await place.execute(cmd('k2', [{ productId: 'nope', quantity: 1 }])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownProductError);
    expect(await events()).toEqual([]);
  });

  it('confirms or cancels once, with events, and lists a customer’s orders newest first', async () => {
    const { order: o1 } = await place.execute(cmd('a'));
    const { order: o2 } = await place.execute(cmd('b', [{ productId: 'p2', quantity: 1 }]));
    await status.confirm(o1.id, { paymentId: 'pay-1' });
    await status.confirm(o1.id);
    await status.cancel(o2.id, 'PAYMENT_DECLINED', 'card_declined');
    await expect(status.confirm(o2.id)).rejects.toBeInstanceOf(InvalidTransitionError);
    expect((await events()).map((e) => e.type)).toEqual([
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
