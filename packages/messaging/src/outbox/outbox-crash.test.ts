import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnScriptChild, waitFor } from '../conformance/conformance-helpers.js';
import { createSqliteInbox } from '../inbox/sqlite-inbox.js';
import { pgSchema, type SqliteWorld, sqliteWorld } from './outbox.test-support.js';
import { createOutboxRelay } from './outbox-relay.js';
import { createPgOutbox } from './pg-outbox.js';
import { createSqliteOutbox } from './sqlite-outbox.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function spawnService(w: SqliteWorld, mode: 'commit' | 'publish', count: number, target?: string) {
  const c = spawnScriptChild(path.join(here, 'outbox-child.ts'), [
    target ?? path.join(w.dir, 'service.db'),
    w.busUrl,
    mode,
    String(count),
  ]);
  return { child: c.process, lines: c.lines, stderr: c.stderr, exited: c.exited };
}

describe('outbox crash safety (a real child process, SIGKILL)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A consumer with an inbox in its own database file: counts deliveries and effects. */
  const consumer = async (w: SqliteWorld) => {
    const db = w.connect();
    db.exec('CREATE TABLE IF NOT EXISTS reservations (order_id TEXT NOT NULL)');
    const inbox = createSqliteInbox(db, { table: 'inventory_inbox' });
    inbox.install();
    const reserve = db.prepare('INSERT INTO reservations (order_id) VALUES (?)');
    const handle = inbox.handler<{ orderId: string }>('inventory', (event) => {
      reserve.run(event.data.orderId);
    });
    const seen = { deliveries: 0 };
    await w.bus.subscribe('order.placed', { group: 'inventory' }, (event, ctx) => {
      seen.deliveries++;
      return handle(event as never, ctx);
    });
    const effects = () =>
      db
        .prepare('SELECT order_id, count(*) AS n FROM reservations GROUP BY order_id ORDER BY order_id')
        .all() as {
        order_id: string;
        n: number;
      }[];
    return { seen, effects };
  };

  it('a service killed after committing, before publishing: the restarted relay publishes every event', async () => {
    const w = await sqliteWorld();
    cleanups.push(w.dispose);
    const inventory = await consumer(w);
    const service = spawnService(w, 'commit', 5);
    cleanups.push(async () => {
      service.child.kill('SIGKILL');
    });
    await waitFor('the commits', () => service.lines.some((l) => l.ready), 30_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${service.stderr()}`);
    });
    service.child.kill('SIGKILL');
    expect(await service.exited).toBe('SIGKILL');
    const committed = service.lines.flatMap((l) => (typeof l.committed === 'string' ? [l.committed] : []));
    expect(committed).toHaveLength(5);
    expect(w.db.prepare('SELECT count(*) AS n FROM sluice_outbox WHERE sent_at IS NULL').get()).toEqual({
      n: 5,
    });

    // The service restarts: its relay finds the committed rows.
    const relay = createOutboxRelay({ outbox: createSqliteOutbox(w.db), bus: w.bus });
    cleanups.push(() => relay.stop());
    await relay.start();
    await waitFor('every effect', () => inventory.effects().length === 5);
    expect(inventory.effects()).toEqual(committed.sort().map((order_id) => ({ order_id, n: 1 })));
    expect(w.db.prepare('SELECT count(*) AS n FROM orders').get()).toEqual({ n: 5 });
  });

  it('a running relay finds rows another process commits by its adaptive poll', async () => {
    const w = await sqliteWorld();
    cleanups.push(w.dispose);
    const inventory = await consumer(w);
    const relay = createOutboxRelay({ outbox: createSqliteOutbox(w.db), bus: w.bus, pollMs: 200 });
    cleanups.push(() => relay.stop());
    await relay.start(); // before the table even exists: the child installs it
    const service = spawnService(w, 'commit', 3);
    cleanups.push(async () => {
      service.child.kill('SIGKILL');
    });
    await waitFor('every effect', () => inventory.effects().length === 3, 30_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${service.stderr()}`);
    });
  });

  it('a relay killed between publish and mark: the events are published again after its lease, and the inbox keeps one effect each', async () => {
    const w = await sqliteWorld();
    cleanups.push(w.dispose);
    const inventory = await consumer(w);
    const service = spawnService(w, 'publish', 4);
    cleanups.push(async () => {
      service.child.kill('SIGKILL');
    });
    await waitFor('the publish', () => service.lines.some((l) => l.published), 30_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${service.stderr()}`);
    });
    service.child.kill('SIGKILL');
    await service.exited;
    const committed = service.lines.flatMap((l) => (typeof l.committed === 'string' ? [l.committed] : []));
    await waitFor('the first deliveries', () => inventory.effects().length === 4);
    expect(w.db.prepare('SELECT count(*) AS n FROM sluice_outbox WHERE sent_at IS NULL').get()).toEqual({
      n: 4,
    });

    const relay = createOutboxRelay({ outbox: createSqliteOutbox(w.db), bus: w.bus });
    cleanups.push(() => relay.stop());
    await relay.start();
    // Once the dead relay's lease (1.5 s) ends, the rows are published again: duplicates, absorbed by the inbox.
    await waitFor(
      'the outbox drained',
      () =>
        (w.db.prepare('SELECT count(*) AS n FROM sluice_outbox WHERE sent_at IS NULL').get() as { n: number })
          .n === 0,
    );
    await waitFor('the redeliveries', () => inventory.seen.deliveries === 8);
    expect(inventory.effects()).toEqual(committed.sort().map((order_id) => ({ order_id, n: 1 })));
  });

  it('PostgreSQL: a service killed after committing, and a relay killed between publish and mark: nothing lost, one effect each', async () => {
    const w = await sqliteWorld();
    cleanups.push(w.dispose);
    const db = await pgSchema();
    cleanups.push(db.dispose);
    const inventory = await consumer(w);
    const run = async (mode: 'commit' | 'publish') => {
      const service = spawnService(w, mode, 3, `postgres:${db.schema}`);
      cleanups.push(async () => {
        service.child.kill('SIGKILL');
      });
      await waitFor(
        mode,
        () => service.lines.some((l) => (mode === 'commit' ? l.ready : l.published)),
        30_000,
      ).catch((e) => {
        throw new Error(`${(e as Error).message}\n${service.stderr()}`);
      });
      service.child.kill('SIGKILL');
      await service.exited;
      return service.lines.flatMap((l) => (typeof l.committed === 'string' ? [l.committed] : []));
    };
    const committed = [...(await run('commit')), ...(await run('publish'))];
    expect(committed).toHaveLength(6);
    const unsent = async () =>
      Number(
        (await db.pool.query(`SELECT count(*) AS n FROM "${db.schema}".sluice_outbox WHERE sent_at IS NULL`))
          .rows[0]?.n,
      );
    expect(await unsent()).toBe(6);

    const relay = createOutboxRelay({
      outbox: createPgOutbox({ schema: db.schema }),
      bus: w.bus,
      pool: db.pool,
    });
    cleanups.push(() => relay.stop());
    await relay.start();
    await waitFor('the outbox drained', async () => (await unsent()) === 0);
    await waitFor('every effect', () => inventory.effects().length === 6);
    await waitFor('settled', async () =>
      (await w.bus.stats('order.placed')).every((g) => g.pending + g.inFlight === 0),
    );
    expect(inventory.effects()).toEqual(committed.sort().map((order_id) => ({ order_id, n: 1 })));
    expect(inventory.seen.deliveries).toBeGreaterThan(6); // the killed relay had published some already
    expect(Number((await db.pool.query(`SELECT count(*) AS n FROM "${db.schema}".orders`)).rows[0]?.n)).toBe(
      6,
    );
  });
});
