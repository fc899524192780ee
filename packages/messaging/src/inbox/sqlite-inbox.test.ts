import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../conformance/conformance-helpers.js';
import { type SqliteWorld, sqliteWorld, thing } from '../outbox/outbox.test-support.js';
import { createSqliteInbox } from './sqlite-inbox.js';

const TOPIC = 'shop.thing_happened';

describe('createSqliteInbox', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const world = async (): Promise<SqliteWorld> => {
    const w = await sqliteWorld();
    cleanups.push(w.dispose);
    w.db.exec('CREATE TABLE effects (event_id TEXT NOT NULL, n INTEGER NOT NULL)');
    return w;
  };
  const effects = (w: SqliteWorld) =>
    w.db.prepare('SELECT event_id, count(*) AS n FROM effects GROUP BY event_id ORDER BY event_id').all();

  it('gives one effect for an event delivered twice through the embedded transport', async () => {
    const w = await world();
    const inbox = createSqliteInbox(w.db);
    inbox.install();
    inbox.install();
    const insert = w.db.prepare('INSERT INTO effects VALUES (?, ?)');
    const handle = inbox.handler<{ n: number }>('projector', (event) => {
      insert.run(event.id, event.data.n);
    });
    let deliveries = 0;
    await w.bus.subscribe(TOPIC, { group: 'projector' }, (event, ctx) => {
      deliveries++;
      return handle(event as never, ctx);
    });
    const e = thing('o-1', 7);
    await w.bus.publish(e);
    await w.bus.publish(e); // the same event id again: a duplicate delivery
    await waitFor('both deliveries', () => deliveries === 2);
    await waitFor('settled', async () =>
      (await w.bus.stats(TOPIC)).every((s) => s.pending + s.inFlight === 0),
    );
    expect(effects(w)).toEqual([{ event_id: e.id, n: 1 }]);
  });

  it('rolls the mark back with a failing handler, so the retry has the effect once', async () => {
    const w = await world();
    const inbox = createSqliteInbox(w.db);
    inbox.install();
    const insert = w.db.prepare('INSERT INTO effects VALUES (?, ?)');
    let calls = 0;
    await w.bus.subscribe(
      TOPIC,
      { group: 'g', backoff: { delayMs: () => 10, describe: () => ({}) } },
      inbox.handler('g', (event) => {
        calls++;
        insert.run(event.id, calls);
        if (calls === 1) throw new Error('transient failure after writing');
      }),
    );
    const e = thing('o-1');
    await w.bus.publish(e);
    await waitFor('the retry', () => calls === 2);
    await waitFor('settled', async () =>
      (await w.bus.stats(TOPIC)).every((s) => s.pending + s.inFlight === 0),
    );
    expect(effects(w)).toEqual([{ event_id: e.id, n: 1 }]);
  });

  it('marks inside the caller transaction: true first, false for a duplicate, undone by a rollback', async () => {
    const w = await world();
    const inbox = createSqliteInbox(w.db);
    inbox.install();
    expect(() =>
      w.db.transaction(() => {
        expect(inbox.markHandled('c', 'e-1')).toBe(true);
        throw new Error('rollback');
      })(),
    ).toThrow('rollback');
    expect(w.db.transaction(() => inbox.markHandled('c', 'e-1'))()).toBe(true);
    expect(inbox.markHandled('c', 'e-1')).toBe(false);
    expect(inbox.markHandled('other-consumer', 'e-1')).toBe(true);
    expect(() => inbox.markHandled('', 'e-1')).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => inbox.markHandled('c', 42 as never)).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });

  it('refuses an async handler (it cannot run inside a synchronous transaction) and dead-letters the event', async () => {
    const w = await world();
    const inbox = createSqliteInbox(w.db);
    inbox.install();
    await w.bus.subscribe(TOPIC, { group: 'g' }, inbox.handler('g', (async () => {}) as never));
    const e = thing('o-1');
    await w.bus.publish(e);
    await waitFor('the dead letter', async () => (await w.bus.deadLetters.count({ topic: TOPIC })) === 1);
    const [dead] = await w.bus.deadLetters.list({ topic: TOPIC });
    expect(dead?.reason).toBe('MESSAGING_SYNC_REQUIRED');
    expect(inbox.markHandled('g', e.id)).toBe(true); // the mark was rolled back
  });

  it('prunes marks older than the retention', async () => {
    const w = await world();
    let now = 1_000_000;
    const inbox = createSqliteInbox(w.db, { retentionMs: 10_000, now: () => now });
    inbox.install();
    inbox.markHandled('c', 'old');
    now += 5_000;
    inbox.markHandled('c', 'recent');
    now += 6_000;
    expect(inbox.prune()).toBe(1);
    expect(inbox.markHandled('c', 'recent')).toBe(false);
    expect(inbox.markHandled('c', 'old')).toBe(true);
    expect(() => createSqliteInbox(w.db, { retentionMs: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });
});
