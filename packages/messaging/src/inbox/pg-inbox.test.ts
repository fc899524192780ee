import { afterEach, describe, expect, it } from 'vitest';
import type { MessageContext } from '../bus/bus.js';
import { waitFor } from '../conformance/conformance-helpers.js';
import { pgSchema, type SqliteWorld, sqliteWorld, thing } from '../outbox/outbox.test-support.js';
import { createPgInbox } from './pg-inbox.js';

const TOPIC = 'shop.thing_happened';

describe('createPgInbox', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const setup = async () => {
    const w: SqliteWorld = await sqliteWorld();
    cleanups.push(w.dispose);
    const db = await pgSchema();
    cleanups.push(db.dispose);
    const inbox = createPgInbox({ schema: db.schema });
    await inbox.install(db.pool);
    await inbox.install(db.pool);
    await db.pool.query(`CREATE TABLE "${db.schema}".effects (event_id TEXT NOT NULL)`);
    const effects = async () =>
      (
        await db.pool.query(
          `SELECT event_id, count(*)::int AS n FROM "${db.schema}".effects GROUP BY event_id ORDER BY event_id`,
        )
      ).rows;
    return { w, db, inbox, effects };
  };

  it('gives one effect for an event delivered twice through the embedded transport', async () => {
    const { w, db, inbox, effects } = await setup();
    const handle = inbox.handler(db.pool, 'projector', async (event, client) => {
      await client.query(`INSERT INTO "${db.schema}".effects VALUES ($1)`, [event.id]);
    });
    let deliveries = 0;
    await w.bus.subscribe(TOPIC, { group: 'projector' }, async (event, ctx) => {
      deliveries++;
      await handle(event, ctx);
    });
    const e = thing('o-1');
    await w.bus.publish(e);
    await w.bus.publish(e);
    await waitFor('both deliveries', () => deliveries === 2);
    await waitFor('settled', async () =>
      (await w.bus.stats(TOPIC)).every((s) => s.pending + s.inFlight === 0),
    );
    expect(await effects()).toEqual([{ event_id: e.id, n: 1 }]);
  });

  it('runs concurrent deliveries of one event once, and rolls the mark back with a failing handler', async () => {
    const { db, inbox, effects } = await setup();
    let calls = 0;
    const handle = inbox.handler(db.pool, 'c', async (event, client) => {
      calls++;
      await client.query(`INSERT INTO "${db.schema}".effects VALUES ($1)`, [event.id]);
      if (event.subject === 'fails-once' && calls === 1) throw new Error('transient');
    });
    const ctx = {} as MessageContext;
    const e = thing('k');
    await Promise.all([handle(e, ctx), handle(e, ctx), handle(e, ctx)]);
    expect(calls).toBe(1);
    calls = 0;
    const f = thing('fails-once');
    await expect(handle(f, ctx)).rejects.toThrow('transient');
    await handle(f, ctx);
    await handle(f, ctx);
    expect(calls).toBe(2);
    expect(await effects()).toEqual(
      [
        { event_id: e.id, n: 1 },
        { event_id: f.id, n: 1 },
      ].sort((a, b) => a.event_id.localeCompare(b.event_id)),
    );
  });

  it('marks on the caller client and prunes old marks', async () => {
    const { db } = await setup();
    let now = 5_000_000;
    const inbox = createPgInbox({ schema: db.schema, table: 'marks', retentionMs: 1_000, now: () => now });
    await inbox.install(db.pool);
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      expect(await inbox.markHandled(client, 'c', 'e-1')).toBe(true);
      await client.query('ROLLBACK');
      expect(await inbox.markHandled(client, 'c', 'e-1')).toBe(true);
      expect(await inbox.markHandled(client, 'c', 'e-1')).toBe(false);
      await expect(inbox.markHandled(client, 'c', '')).rejects.toMatchObject({ code: 'invalid_argument' });
    } finally {
      client.release();
    }
    now += 2_000;
    expect(await inbox.prune(db.pool)).toBe(1);
    expect(() => createPgInbox({ table: '1bad' })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });
});
