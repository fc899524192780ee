import { fileURLToPath } from 'node:url';
import { loadMigrations, migratePostgres, migrateSqlite } from '@sluice/service';
import { tempPgSchemas } from '@sluice/testing';
import Database from 'better-sqlite3';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { checkAvailability } from '../src/application/check-availability.use-case.js';
import type { InventoryStore } from '../src/application/inventory.store.js';
import { ReserveStock } from '../src/application/reserve-stock.use-case.js';
import { expireDueReservations, SettleReservation } from '../src/application/settle-reservation.use-case.js';
import { InsufficientStockError, UnknownProductError } from '../src/domain/inventory-errors.js';
import { PgInventoryStore } from '../src/infrastructure/pg-inventory.store.js';
import { SqliteInventoryStore } from '../src/infrastructure/sqlite-inventory.store.js';

const dir = (kind: string) => fileURLToPath(new URL(`../migrations/${kind}`, import.meta.url));

/** A fresh store per test plus a reader of the event types it wrote (to a table in the same transaction, as the outbox does). */
interface Harness {
  store: InventoryStore;
  eventTypes(): Promise<string[]>;
  reservationCount(): Promise<number>;
}

const pgs = tempPgSchemas();
const pool = pgs.pool;
afterAll(() => pgs.dispose());

const stores: [string, () => Promise<Harness>][] = [
  [
    'SQLite',
    async () => {
      const db = new Database(':memory:');
      migrateSqlite(db, loadMigrations(dir('sqlite')));
      db.exec('CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT NOT NULL)');
      const insert = db.prepare('INSERT INTO events VALUES (?, ?)');
      const store = new SqliteInventoryStore(db, (events) => {
        for (const e of events) insert.run(e.id, e.type);
      });
      return {
        store,
        eventTypes: async () =>
          db
            .prepare<[], { type: string }>('SELECT type FROM events ORDER BY rowid')
            .all()
            .map((r) => r.type),
        reservationCount: async () =>
          (db.prepare('SELECT count(*) AS n FROM reservation').get() as { n: number }).n,
      };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const schema = await pgs.create('inventory_test');
      await migratePostgres(pool, schema, loadMigrations(dir('postgres')));
      await pool.query(
        `CREATE TABLE ${schema}.events (seq SERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, type TEXT NOT NULL)`,
      );
      const store = new PgInventoryStore(pool, schema, async (c, events) => {
        for (const e of events)
          await c.query(`INSERT INTO ${schema}.events (id, type) VALUES ($1, $2)`, [e.id, e.type]);
      });
      return {
        store,
        eventTypes: async () =>
          (await pool.query(`SELECT type FROM ${schema}.events ORDER BY seq`)).rows.map((r) => r.type),
        reservationCount: async () =>
          (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.reservation`)).rows[0].n,
      };
    },
  ],
];

describe.each(stores)('inventory on %s', (_name, makeStore) => {
  let harness: Harness;
  let store: InventoryStore;
  let clock: number;
  let ids: number;
  let reserveStock: ReserveStock;
  let settle: SettleReservation;
  const now = () => new Date(clock);

  beforeEach(async () => {
    harness = await makeStore();
    store = harness.store;
    clock = Date.parse('2026-01-01T00:00:00Z');
    ids = 0;
    const deps = { store, now, newId: () => `res-${++ids}`, source: 'inventory' };
    reserveStock = new ReserveStock(deps);
    settle = new SettleReservation(deps);
    await store.seed([
      { productId: 'p1', units: 10 },
      { productId: 'p2', units: 1 },
    ]);
  });

  const eventTypes = () => harness.eventTypes();

  it('reserves, emits inventory.reserved, and answers availability from what is left', async () => {
    const r = await reserveStock.execute({
      orderId: 'o1',
      items: [{ productId: 'p1', quantity: 4 }],
      idempotencyKey: 'k1',
    });
    expect(r.status).toBe('active');
    expect(r.expiresAt.getTime() - clock).toBe(15 * 60_000);
    expect(await checkAvailability(store, 'p1', 6)).toEqual({
      productId: 'p1',
      available: true,
      currentStock: 6,
    });
    expect(await checkAvailability(store, 'p1', 7)).toMatchObject({ available: false });
    await expect(checkAvailability(store, 'nope', 1)).rejects.toBeInstanceOf(UnknownProductError);
    expect(await eventTypes()).toEqual(['inventory.reserved']);
  });

  it('reserves once per idempotency key', async () => {
    const cmd = { orderId: 'o1', items: [{ productId: 'p1', quantity: 4 }], idempotencyKey: 'k1' };
    const [a, b] = await Promise.all([reserveStock.execute(cmd), reserveStock.execute(cmd)]);
    expect(a.id).toBe(b.id);
    expect((await store.getStock('p1'))?.reserved).toBe(4);
    expect(await eventTypes()).toEqual(['inventory.reserved']);
  });

  it('never sells stock it does not have, however many ask at once', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 25 }, (_, i) =>
        reserveStock.execute({
          orderId: `o${i}`,
          items: [{ productId: 'p1', quantity: 3 }],
          idempotencyKey: `k${i}`,
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBe(3);
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(InsufficientStockError);
    expect(await store.getStock('p1')).toEqual({ productId: 'p1', available: 1, reserved: 9, sold: 0 });
    expect(await eventTypes()).toHaveLength(3);
  });

  it('a refused reservation writes no row and no event', async () => {
    await expect(
      reserveStock.execute({
        orderId: 'o1',
        items: [
          { productId: 'p1', quantity: 1 },
          { productId: 'p2', quantity: 2 },
        ],
        idempotencyKey: 'k1',
      }),
    ).rejects.toBeInstanceOf(InsufficientStockError);
    expect(await store.getStock('p1')).toMatchObject({ available: 10, reserved: 0 });
    expect(await harness.reservationCount()).toBe(0);
    expect(await eventTypes()).toEqual([]);
  });

  it('releases idempotently, commits, and expires what is due', async () => {
    const a = await reserveStock.execute({
      orderId: 'oa',
      items: [{ productId: 'p1', quantity: 2 }],
      idempotencyKey: 'ka',
    });
    const b = await reserveStock.execute({
      orderId: 'ob',
      items: [{ productId: 'p1', quantity: 3 }],
      idempotencyKey: 'kb',
    });
    const c = await reserveStock.execute({
      orderId: 'oc',
      items: [{ productId: 'p1', quantity: 1 }],
      idempotencyKey: 'kc',
      expiresInSeconds: 60,
    });
    expect((await settle.release(a.id)).status).toBe('released');
    expect((await settle.release(a.id)).status).toBe('released');
    expect((await settle.commit(b.id)).status).toBe('committed');
    clock += 60_000;
    expect(await expireDueReservations(settle, store, now)).toBe(1);
    expect((await store.getReservation(c.id))?.status).toBe('expired');
    expect(await store.getStock('p1')).toEqual({ productId: 'p1', available: 7, reserved: 0, sold: 3 });
    expect(await eventTypes()).toEqual([
      'inventory.reserved',
      'inventory.reserved',
      'inventory.reserved',
      'inventory.released',
      'inventory.released',
    ]);
  });
});
