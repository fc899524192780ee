import { constant } from '@sluice/resilience';
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../conformance/conformance-helpers.js';
import {
  collect,
  failingPublishes,
  pgSchema,
  type SqliteWorld,
  sqliteWorld,
  thing,
} from './outbox.test-support.js';
import { createOutboxRelay, type OutboxErrorEvent } from './outbox-relay.js';
import { createPgOutbox } from './pg-outbox.js';

const TOPIC = 'shop.thing_happened';

describe('createPgOutbox + createOutboxRelay (PostgreSQL)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  /** The bus is embedded (a temp SQLite file); the outbox lives in a fresh PostgreSQL schema. */
  const setup = async (wrap?: Parameters<typeof sqliteWorld>[0]) => {
    const w: SqliteWorld = await sqliteWorld(wrap);
    cleanups.push(w.dispose);
    const db = await pgSchema();
    cleanups.push(db.dispose);
    const outbox = createPgOutbox({ schema: db.schema });
    await outbox.install(db.pool);
    await outbox.install(db.pool); // idempotent
    await db.pool.query(`CREATE TABLE "${db.schema}".orders (id TEXT PRIMARY KEY, status TEXT NOT NULL)`);
    const inTx = async (fn: (client: pg.PoolClient) => Promise<void>) => {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await fn(client);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      } finally {
        client.release();
      }
    };
    return { w, db, outbox, inTx };
  };

  it('commits the state change and its event together; a rollback leaves nothing', async () => {
    const { w, db, outbox, inTx } = await setup();
    const got = await collect(w.bus, TOPIC);
    const placed = thing('o-1');
    await inTx(async (c) => {
      await c.query(`INSERT INTO "${db.schema}".orders VALUES ($1, 'pending')`, ['o-1']);
      expect(await outbox.add(c, [placed])).toBe(1);
    });
    await expect(
      inTx(async (c) => {
        await c.query(`INSERT INTO "${db.schema}".orders VALUES ($1, 'pending')`, ['o-2']);
        await outbox.add(c, [thing('o-2')]);
        throw new Error('the use case failed after writing');
      }),
    ).rejects.toThrow('the use case failed');
    // A bad entry rejects before any SQL: the caller rolls back.
    await expect(
      inTx(async (c) => {
        await c.query(`INSERT INTO "${db.schema}".orders VALUES ($1, 'pending')`, ['o-3']);
        await outbox.add(c, [{ event: { ...thing('o-3'), specversion: '0.3' } as never }]);
      }),
    ).rejects.toMatchObject({
      code: 'invalid_argument',
      details: { violations: [expect.objectContaining({ field: 'entries.0.event.specversion' })] },
    });
    const rows = await db.pool.query(`SELECT id FROM "${db.schema}".sluice_outbox`);
    expect(rows.rows).toEqual([{ id: placed.id }]);
    expect((await db.pool.query(`SELECT id FROM "${db.schema}".orders`)).rows).toEqual([{ id: 'o-1' }]);

    const relay = createOutboxRelay({ outbox, bus: w.bus, pool: db.pool });
    expect(await relay.flush()).toEqual({ published: 1, failed: 0 });
    await waitFor('the delivery', () => got.ids.length === 1);
    expect(got.ids).toEqual([placed.id]);
    const sent = await db.pool.query(`SELECT sent_at FROM "${db.schema}".sluice_outbox`);
    expect(sent.rows[0]?.sent_at).not.toBeNull();
  });

  it('is woken by the NOTIFY of a commit although it polls only every hour, and after its LISTEN connection is killed', async () => {
    const { w, db, outbox, inTx } = await setup();
    const got = await collect(w.bus, TOPIC);
    const relay = createOutboxRelay({
      outbox,
      bus: w.bus,
      pool: db.pool,
      pollMs: 3_600_000,
      minPollMs: 3_600_000,
    });
    const errors: OutboxErrorEvent[] = [];
    relay.onError((e) => errors.push(e));
    cleanups.push(() => relay.stop());
    await relay.start();
    const first = thing('o-1');
    await inTx((c) => outbox.add(c, [first]).then(() => undefined));
    await waitFor('the first event', () => got.ids.length === 1);

    // Kill the relay's LISTEN connection from the server side; it reconnects and listens again.
    const listener = async () =>
      (
        await db.pool.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE query = $1 AND application_name = 'sluice-outbox-relay'`,
          [`LISTEN "${outbox.channel}"`],
        )
      ).rows[0]?.pid;
    const pid = await waitFor('the LISTEN connection', listener);
    await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor('the reported failure', () => errors.some((e) => e.stage === 'listen'));
    await waitFor('a new LISTEN connection', async () => {
      const next = await listener();
      return next !== undefined && next !== pid;
    });
    const second = thing('o-2');
    await inTx((c) => outbox.add(c, [second]).then(() => undefined));
    await waitFor('the second event', () => got.ids.length === 2);
    expect(got.ids).toEqual([first.id, second.id]);
    await relay.stop();
  });

  it('two relays (own pools) publish every row once, in order per key, and a failing key does not block others', async () => {
    let failing = true;
    const { w, db, outbox } = await setup((t) =>
      failingPublishes(t, (_topic, m) => failing && m.orderingKey === 'bad'),
    );
    const got = await collect(w.bus, TOPIC);
    const second = await pgSchema();
    cleanups.push(() => second.pool.end());
    const relays = [db.pool, second.pool].map((pool) =>
      createOutboxRelay({ outbox, bus: w.bus, pool, batchSize: 6, backoff: constant(50) }),
    );
    const expected = new Map<string, string[]>();
    const client = await db.pool.connect();
    try {
      for (let i = 0; i < 90; i++) {
        const key = i % 10 === 0 ? 'bad' : `k-${i % 6}`;
        const e = thing(key, i);
        expected.set(key, [...(expected.get(key) ?? []), e.id]);
        await outbox.add(client, [e]);
      }
    } finally {
      client.release();
    }
    const results = await Promise.all(relays.map((r) => r.flush()));
    expect(results.reduce((n, r) => n + r.published, 0)).toBe(81);
    await waitFor('the good keys', () => got.ids.length === 81);
    const attempts = await db.pool.query(
      `SELECT max(attempts) AS a, min(last_error) AS e FROM "${db.schema}".sluice_outbox WHERE ordering_key = 'bad'`,
    );
    expect(Number(attempts.rows[0]?.a)).toBeGreaterThanOrEqual(1);
    expect(attempts.rows[0]?.e).toBe('injected failure on shop.thing_happened');
    failing = false;
    await waitFor('the bad key', async () => {
      await Promise.all(relays.map((r) => r.flush()));
      return got.ids.length === 90;
    });
    expect(new Set(got.ids).size).toBe(90);
    for (const [key, ids] of expected) expect(got.byKey.get(key)).toEqual(ids);
  });

  it('refuses a relay without a pool', async () => {
    const outbox = createPgOutbox({ schema: 'unused' });
    expect(() => createOutboxRelay({ outbox, bus: { publishBatch: async () => {} } })).toThrow(
      expect.objectContaining({ code: 'failed_precondition', reason: 'MESSAGING_OUTBOX_UNCONFIGURED' }),
    );
    expect(() => createPgOutbox({ schema: 'bad"name' })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });
});
