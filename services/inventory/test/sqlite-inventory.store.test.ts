import { fileURLToPath } from 'node:url';
import { loadMigrations, migrateSqlite } from '@sluice/service';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkAvailability } from '../src/application/check-availability.use-case.js';
import { ReserveStock } from '../src/application/reserve-stock.use-case.js';
import { expireDueReservations, SettleReservation } from '../src/application/settle-reservation.use-case.js';
import { InsufficientStockError, UnknownProductError } from '../src/domain/inventory-errors.js';
import { SqliteInventoryStore } from '../src/infrastructure/sqlite-inventory.store.js';

const migrations = loadMigrations(fileURLToPath(new URL('../migrations/sqlite', import.meta.url)));

describe('inventory on SQLite', () => {
  let db: Database.Database;
  let store: SqliteInventoryStore;
  let clock: number;
  let ids: number;
  let reserveStock: ReserveStock;
  let settle: SettleReservation;
  const now = () => new Date(clock);

  beforeEach(async () => {
    db = new Database(':memory:');
    migrateSqlite(db, migrations);
    // The events a change causes go to a table in the same transaction, as the outbox does.
    db.exec('CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT NOT NULL, body TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?)');
    store = new SqliteInventoryStore(db, (events) => {
      for (const e of events) insert.run(e.id, e.type, JSON.stringify(e));
    });
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

  const eventTypes = () =>
    db
      .prepare<[], { type: string }>('SELECT type FROM events ORDER BY rowid')
      .all()
      .map((r) => r.type);

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
    expect(eventTypes()).toEqual(['inventory.reserved']);
  });

  it('reserves once per idempotency key', async () => {
    const cmd = { orderId: 'o1', items: [{ productId: 'p1', quantity: 4 }], idempotencyKey: 'k1' };
    const [a, b] = await Promise.all([reserveStock.execute(cmd), reserveStock.execute(cmd)]);
    expect(a.id).toBe(b.id);
    expect((await store.getStock('p1'))?.reserved).toBe(4);
    expect(eventTypes()).toEqual(['inventory.reserved']);
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
    expect(eventTypes()).toHaveLength(3);
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
    expect(db.prepare('SELECT count(*) AS n FROM reservation').get()).toEqual({ n: 0 });
    expect(eventTypes()).toEqual([]);
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
    expect(eventTypes()).toEqual([
      'inventory.reserved',
      'inventory.reserved',
      'inventory.reserved',
      'inventory.released',
      'inventory.released',
    ]);
  });
});
