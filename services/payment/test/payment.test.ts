import { fileURLToPath } from 'node:url';
import { isSluiceError } from '@sluice/errors';
import { createFaultInjector, loadMigrations, migratePostgres, migrateSqlite } from '@sluice/service';
import { tempPgSchemas } from '@sluice/testing';
import Database from 'better-sqlite3';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { PaymentStore } from '../src/application/payment.store.js';
import { ProcessPayment } from '../src/application/process-payment.use-case.js';
import { RefundPayment } from '../src/application/refund-payment.use-case.js';
import {
  IdempotencyMismatchError,
  InvalidAmountError,
  PaymentDeclinedError,
  PaymentStateError,
} from '../src/domain/payment-errors.js';
import { PgPaymentStore } from '../src/infrastructure/pg-payment.store.js';
import { SimulatedCardProcessor } from '../src/infrastructure/simulated-card-processor.js';
import { SqlitePaymentStore } from '../src/infrastructure/sqlite-payment.store.js';

const dir = (kind: string) => fileURLToPath(new URL(`../migrations/${kind}`, import.meta.url));
type Harness = { store: PaymentStore; eventTypes(): Promise<string[]> };
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
      db.exec('CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT NOT NULL)');
      const insert = db.prepare('INSERT INTO events VALUES (?, ?)');
      return {
        store: new SqlitePaymentStore(db, (events) => {
          for (const e of events) insert.run(e.id, e.type);
        }),
        eventTypes: async () =>
          db
            .prepare<[], { type: string }>('SELECT type FROM events ORDER BY rowid')
            .all()
            .map((r) => r.type),
      };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const schema = await pgs.create('payment_test');
      await migratePostgres(pool, schema, loadMigrations(dir('postgres')));
      await pool.query(`CREATE TABLE ${schema}.events (seq SERIAL PRIMARY KEY, type TEXT NOT NULL)`);
      return {
        store: new PgPaymentStore(pool, schema, async (c, events) => {
          for (const e of events) await c.query(`INSERT INTO ${schema}.events (type) VALUES ($1)`, [e.type]);
        }),
        eventTypes: async () =>
          (await pool.query(`SELECT type FROM ${schema}.events ORDER BY seq`)).rows.map((r) => r.type),
      };
    },
  ],
];

describe.each(stores)('payment on %s', (_name, makeStore) => {
  let harness: Harness;
  let store: PaymentStore;
  let process: ProcessPayment;
  let refunds: RefundPayment;
  let charges: number;
  const faults = createFaultInjector();

  beforeEach(async () => {
    harness = await makeStore();
    store = harness.store;
    charges = 0;
    const sim = new SimulatedCardProcessor({ faults });
    const processor = {
      charge: (r: Parameters<typeof sim.charge>[0], s?: AbortSignal) => {
        charges++;
        return sim.charge(r, s);
      },
    };
    let n = 0;
    const deps = { store, processor, now: () => new Date(), newId: () => `id-${++n}`, source: 'payment' };
    process = new ProcessPayment(deps);
    refunds = new RefundPayment(deps);
    faults.clear();
  });

  const charge = (over: Partial<Parameters<ProcessPayment['execute']>[0]> = {}) =>
    process.execute({
      orderId: 'o1',
      customerId: 'c1',
      amount: { amount: 2599, currency: 'USD' },
      cardToken: 'tok_ok',
      idempotencyKey: 'o1:charge',
      ...over,
    });
  const eventTypes = () => harness.eventTypes();

  it('captures tok_ok once per key and emits payment.processed once', async () => {
    const [a, b] = await Promise.all([charge(), charge()]);
    const c = await charge();
    expect(a.status).toBe('captured');
    expect(b.id).toBe(a.id);
    expect(c.id).toBe(a.id);
    expect(await store.listByOrder('o1')).toHaveLength(1);
    expect(await eventTypes()).toEqual(['payment.processed']);
  });

  it('declines tok_declined, records it, and declines a retry without asking the processor again', async () => {
    await expect(charge({ cardToken: 'tok_declined' })).rejects.toBeInstanceOf(PaymentDeclinedError);
    const before = charges;
    const again = await charge({ cardToken: 'tok_declined' }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(PaymentDeclinedError);
    expect((again as PaymentDeclinedError).declineCode).toBe('card_declined');
    expect(charges).toBe(before);
    expect(await eventTypes()).toEqual(['payment.failed']);
  });

  it('declines an amount above the limit', async () => {
    const err = await charge({ amount: { amount: 1_000_001, currency: 'USD' } }).catch((e: unknown) => e);
    expect((err as PaymentDeclinedError).declineCode).toBe('amount_over_limit');
  });

  it('refuses a reused key for a different charge, and non-positive amounts', async () => {
    await charge();
    await expect(charge({ amount: { amount: 1, currency: 'USD' } })).rejects.toBeInstanceOf(
      IdempotencyMismatchError,
    );
    await expect(
      charge({ idempotencyKey: 'k2', amount: { amount: 0, currency: 'USD' } }),
    ).rejects.toBeInstanceOf(InvalidAmountError);
  });

  it('refunds a captured payment once; a declined one cannot be refunded', async () => {
    const p = await charge();
    const [r1, r2] = await Promise.all([
      refunds.execute(p.id, 'o1:refund'),
      refunds.execute(p.id, 'o1:refund'),
    ]);
    expect(r1.status).toBe('refunded');
    expect(r2.refund?.id).toBe(r1.refund?.id);
    expect(await eventTypes()).toEqual(['payment.processed', 'payment.refunded']);
    await charge({ orderId: 'o2', idempotencyKey: 'o2:charge', cardToken: 'tok_declined' }).catch(() => {});
    const declined = (await store.listByOrder('o2'))[0];
    await expect(refunds.execute(declined?.id ?? '', 'o2:refund')).rejects.toBeInstanceOf(PaymentStateError);
  });

  it('writes nothing when the processor fails, so a retry can charge', async () => {
    faults.add({ target: 'processor.charge', kind: 'error', errorCode: 'unavailable' });
    const err = await charge().catch((e: unknown) => e);
    expect(isSluiceError(err) && err.retryable).toBe(true);
    expect(await store.listByOrder('o1')).toEqual([]);
    faults.clear();
    expect((await charge()).status).toBe('captured');
  });
});
