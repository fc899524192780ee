import { constant } from '@sluice/resilience';
import { createVirtualClock } from '@sluice/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { gate, rejectionOf, waitFor } from '../conformance/conformance-helpers.js';
import { collect, failingPublishes, type SqliteWorld, sqliteWorld, thing } from './outbox.test-support.js';
import type { OutboxErrorEvent, OutboxPublishedEvent } from './outbox-relay.js';
import { createOutboxRelay } from './outbox-relay.js';
import { createSqliteOutbox } from './sqlite-outbox.js';

const TOPIC = 'shop.thing_happened';

describe('createSqliteOutbox + createOutboxRelay', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const world = async (wrap?: Parameters<typeof sqliteWorld>[0]): Promise<SqliteWorld> => {
    const w = await sqliteWorld(wrap);
    cleanups.push(w.dispose);
    w.db.exec('CREATE TABLE orders (id TEXT PRIMARY KEY, status TEXT NOT NULL)');
    return w;
  };

  it('commits the state change and its event together; a rolled-back transaction leaves no row and publishes nothing', async () => {
    const w = await world();
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    outbox.install(); // idempotent
    const got = await collect(w.bus, TOPIC);
    const placed = thing('o-1');
    w.db.transaction(() => {
      w.db.prepare('INSERT INTO orders VALUES (?, ?)').run('o-1', 'pending');
      expect(outbox.add([placed])).toBe(1);
    })();
    const rolledBack = thing('o-2');
    expect(() =>
      w.db.transaction(() => {
        w.db.prepare('INSERT INTO orders VALUES (?, ?)').run('o-2', 'pending');
        outbox.add([rolledBack]);
        throw new Error('the use case failed after writing');
      })(),
    ).toThrow('the use case failed');
    expect(w.db.prepare('SELECT id FROM sluice_outbox').all()).toEqual([{ id: placed.id }]);
    expect(w.db.prepare('SELECT id FROM orders').all()).toEqual([{ id: 'o-1' }]);

    const relay = createOutboxRelay({ outbox, bus: w.bus });
    const published: OutboxPublishedEvent[] = [];
    const dispose = relay.onPublished((e) => published.push(e));
    expect(await relay.flush()).toEqual({ published: 1, failed: 0 });
    expect(published).toEqual([{ topic: TOPIC, ids: [placed.id] }]);
    dispose();
    await waitFor('the delivery', () => got.ids.length === 1);
    expect(got.ids).toEqual([placed.id]);
    const row = w.db.prepare('SELECT sent_at, attempts, lease_owner FROM sluice_outbox').get() as {
      sent_at: number | null;
      attempts: number;
      lease_owner: string | null;
    };
    expect(row.sent_at).not.toBeNull();
    expect(row.attempts).toBe(0);
    expect(row.lease_owner).toBeNull();
    expect(await relay.flush()).toEqual({ published: 0, failed: 0 });
  });

  it('rejects invalid envelopes and entries with field errors, writing nothing, so the caller rolls back', async () => {
    const w = await world();
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    const good = thing('o-1');
    const bad = { ...thing('o-2'), type: 'Not A Type', id: '' };
    let caught: unknown;
    try {
      w.db.transaction(() => {
        w.db.prepare('INSERT INTO orders VALUES (?, ?)').run('o-1', 'pending');
        outbox.add([
          good,
          bad as never,
          {
            event: thing('o-3'),
            topic: 'bad topic!',
            priority: 'urgent' as never,
            deliverAt: new Date(Number.NaN),
          },
          { event: thing('o-4'), headers: { 'x-n': 1 as never } },
        ]);
      })();
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'invalid_argument', reason: 'MESSAGING_INVALID_MESSAGE' });
    const fields = (caught as { details: { violations: { field: string }[] } }).details.violations.map(
      (v) => v.field,
    );
    expect(fields).toEqual(
      expect.arrayContaining([
        'entries.1.event.id',
        'entries.1.event.type',
        'entries.2.topic',
        'entries.2.priority',
        'entries.2.deliverAt',
        'entries.3.headers.x-n',
      ]),
    );
    expect(fields.some((f) => f.startsWith('entries.0'))).toBe(false);
    expect(w.db.prepare('SELECT count(*) AS n FROM sluice_outbox').get()).toEqual({ n: 0 });
    expect(w.db.prepare('SELECT count(*) AS n FROM orders').get()).toEqual({ n: 0 });

    const small = createSqliteOutbox(w.db, { maxMessageBytes: 200 });
    expect(() => small.add([thing('o-5', 'x'.repeat(500) as never)])).toThrow(
      expect.objectContaining({ reason: 'MESSAGING_MESSAGE_TOO_LARGE' }),
    );
    expect(() => outbox.add('nope' as never)).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => createSqliteOutbox(w.db, { table: 'x; DROP TABLE orders' })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });

  it('publishes in sequence order per ordering key, with the entry options, and skips a re-added id', async () => {
    const w = await world();
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    const got = await collect(w.bus, TOPIC);
    const other = await collect(w.bus, 'other.topic');
    const expected = new Map<string, string[]>();
    for (let i = 0; i < 60; i++) {
      const key = `o-${i % 4}`;
      const e = thing(key, i);
      w.db.transaction(() => outbox.add([e]))();
      expected.set(key, [...(expected.get(key) ?? []), e.id]);
    }
    const keyless = thing(undefined);
    const routed = thing('o-0');
    expect(
      outbox.add([
        keyless,
        {
          event: routed,
          topic: 'other.topic',
          orderingKey: 'custom',
          priority: 'high',
          headers: { 'x-a': 'b' },
        },
      ]),
    ).toBe(2);
    expect(outbox.add([routed])).toBe(0); // the same id again: one event
    const relay = createOutboxRelay({ outbox, bus: w.bus, batchSize: 7 });
    expect(await relay.flush()).toEqual({ published: 62, failed: 0 });
    await waitFor('all deliveries', () => got.ids.length === 61 && other.ids.length === 1);
    for (const [key, ids] of expected) expect(got.byKey.get(key)).toEqual(ids);
    expect(got.byKey.get('')).toEqual([keyless.id]);
    expect(other.byKey.get('custom')).toEqual([routed.id]);
  });

  it('retries a failing key with backoff (attempts and last error recorded) while other keys go through', async () => {
    let failing = true;
    const w = await world((t) => failingPublishes(t, (_topic, m) => failing && m.orderingKey === 'bad'));
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    const got = await collect(w.bus, TOPIC);
    const clock = createVirtualClock({ start: Date.now() });
    const relay = createOutboxRelay({ outbox, bus: w.bus, clock, backoff: constant(5_000) });
    const errors: OutboxErrorEvent[] = [];
    relay.onError((e) => errors.push(e));
    const bad1 = thing('bad', 1);
    const bad2 = thing('bad', 2);
    const goods = [thing('good-a'), thing('good-b'), thing(undefined)];
    outbox.add([bad1, goods[0] as never, bad2, goods[1] as never, goods[2] as never]);

    // The key's two rows were published together, so both failed together.
    expect(await relay.flush()).toEqual({ published: 3, failed: 2 });
    await waitFor('the good keys', () => got.ids.length === 3);
    expect(new Set(got.ids)).toEqual(new Set(goods.map((g) => g.id)));
    const rowOf = (id: string) =>
      w.db
        .prepare('SELECT attempts, last_error, next_attempt_at, sent_at FROM sluice_outbox WHERE id = ?')
        .get(id) as {
        attempts: number;
        last_error: string | null;
        next_attempt_at: number;
        sent_at: number | null;
      };
    expect(rowOf(bad1.id)).toMatchObject({
      attempts: 1,
      last_error: 'injected failure on shop.thing_happened',
    });
    expect(rowOf(bad1.id).next_attempt_at).toBe(clock.now() + 5_000);
    expect(rowOf(bad2.id)).toMatchObject({ attempts: 1, sent_at: null });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ stage: 'publish', ids: [bad1.id, bad2.id], attempts: 1 });
    // A later row of the failing key waits behind it, even though it is due.
    const bad3 = thing('bad', 3);
    outbox.add([bad3]);

    // Not before the backoff:
    await clock.advance(4_999);
    expect(await relay.flush()).toEqual({ published: 0, failed: 0 });
    expect(rowOf(bad3.id)).toMatchObject({ attempts: 0, sent_at: null });
    await clock.advance(1);
    expect(await relay.flush()).toEqual({ published: 0, failed: 3 });
    expect(rowOf(bad1.id).attempts).toBe(2);
    expect(rowOf(bad3.id).attempts).toBe(1);
    failing = false;
    await clock.advance(5_000);
    expect(await relay.flush()).toEqual({ published: 3, failed: 0 });
    await waitFor('the bad key', () => got.ids.length === 6);
    expect(got.byKey.get('bad')).toEqual([bad1.id, bad2.id, bad3.id]);
  });

  it('holds back a key on every topic while its earlier row is failing', async () => {
    let failing = true;
    const w = await world((t) => failingPublishes(t, (topic) => failing && topic === TOPIC));
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    const got = await collect(w.bus, TOPIC);
    const other = await collect(w.bus, 'other.topic');
    const clock = createVirtualClock({ start: Date.now() });
    const relay = createOutboxRelay({ outbox, bus: w.bus, clock, backoff: constant(1_000) });
    const first = thing('k', 1);
    const then = thing('k', 2);
    const unrelated = thing('j', 3);
    outbox.add([first, { event: then, topic: 'other.topic' }, { event: unrelated, topic: 'other.topic' }]);
    expect(await relay.flush()).toEqual({ published: 1, failed: 1 });
    await waitFor('the unrelated key', () => other.ids.length === 1);
    expect(other.ids).toEqual([unrelated.id]);
    const state = w.db
      .prepare('SELECT attempts, lease_owner, sent_at FROM sluice_outbox WHERE id = ?')
      .get(then.id);
    expect(state).toEqual({ attempts: 0, lease_owner: null, sent_at: null });
    failing = false;
    await clock.advance(1_000);
    expect(await relay.flush()).toEqual({ published: 2, failed: 0 });
    await waitFor('the key', () => got.ids.length === 1 && other.ids.length === 2);
    expect(other.ids).toEqual([unrelated.id, then.id]);
  });

  it('started, it publishes a commit at once although it polls only every hour (in-process wake-up)', async () => {
    const w = await world();
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    const got = await collect(w.bus, TOPIC);
    const relay = createOutboxRelay({ outbox, bus: w.bus, pollMs: 3_600_000, minPollMs: 3_600_000 });
    cleanups.push(() => relay.stop());
    await relay.start();
    const first = thing('o-1');
    w.db.transaction(() => outbox.add([first]))();
    await waitFor('the first event', () => got.ids.length === 1);
    // A manual transaction held open across an await: the relay must neither
    // publish the uncommitted row nor run its statements inside it.
    const second = thing('o-2');
    w.db.exec('BEGIN');
    outbox.add([second]);
    await new Promise((r) => setTimeout(r, 100));
    expect(got.ids).toEqual([first.id]);
    w.db.exec('COMMIT');
    await waitFor('the second event', () => got.ids.length === 2);
    // An outbox object on another connection to the same file rings the same relay.
    const other = createSqliteOutbox(w.connect());
    const third = thing('o-3');
    other.add([third]);
    await waitFor('the third event', () => got.ids.length === 3);
    expect(got.ids).toEqual([first.id, second.id, third.id]);
    await relay.stop();
    await relay.stop(); // idempotent
  });

  it('wakes for a retry when its backoff ends, without a poll (virtual clock)', async () => {
    let failing = true;
    const w = await world((t) => failingPublishes(t, () => failing));
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    const got = await collect(w.bus, TOPIC);
    const clock = createVirtualClock({ start: Date.now() });
    const relay = createOutboxRelay({
      outbox,
      bus: w.bus,
      clock,
      pollMs: 3_600_000,
      minPollMs: 3_600_000,
      backoff: constant(2_000),
    });
    cleanups.push(() => relay.stop());
    const failed: OutboxErrorEvent[] = [];
    relay.onError((e) => failed.push(e));
    await relay.start();
    outbox.add([thing('k')]);
    await waitFor('the first failure', () => failed.length === 1);
    failing = false;
    await waitFor('the retry timer', async () => {
      await clock.advance(500);
      return got.ids.length === 1;
    });
    expect(clock.now() - (failed[0]?.retryAt ?? 0)).toBeGreaterThanOrEqual(0);
  });

  it('stops gracefully: the round in flight is published and marked before stop resolves, and nothing starts after', async () => {
    const w = await world();
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    const release = gate();
    let calls = 0;
    const relay = createOutboxRelay({
      outbox,
      bus: {
        async publishBatch(entries) {
          calls++;
          await release.promise;
          await w.bus.publishBatch(entries);
        },
      },
    });
    await relay.start();
    outbox.add([thing('a')]);
    await waitFor('the publish in flight', () => calls === 1);
    let stopped = false;
    const stopping = relay.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false);
    release.open();
    await stopping;
    expect(w.db.prepare('SELECT count(*) AS n FROM sluice_outbox WHERE sent_at IS NULL').get()).toEqual({
      n: 0,
    });
    outbox.add([thing('b')]);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
    expect(await relay.flush()).toEqual({ published: 1, failed: 0 }); // flush still works after stop
  });

  it('two relays on one outbox publish every row once, in order per key', async () => {
    const w = await world();
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    const got = await collect(w.bus, TOPIC);
    const otherOutbox = createSqliteOutbox(w.connect());
    const a = createOutboxRelay({ outbox, bus: w.bus, batchSize: 5 });
    const b = createOutboxRelay({ outbox: otherOutbox, bus: w.bus, batchSize: 5 });
    cleanups.push(
      () => a.stop(),
      () => b.stop(),
    );
    const expected = new Map<string, string[]>();
    for (let i = 0; i < 100; i++) {
      const e = thing(`k-${i % 7}`, i);
      expected.set(`k-${i % 7}`, [...(expected.get(`k-${i % 7}`) ?? []), e.id]);
      outbox.add([e]);
    }
    const [ra, rb] = await Promise.all([a.flush(), b.flush()]);
    expect(ra.published + rb.published).toBe(100);
    await waitFor('every delivery', () => got.ids.length >= 100);
    expect(new Set(got.ids).size).toBe(got.ids.length);
    for (const [key, ids] of expected) expect(got.byKey.get(key)).toEqual(ids);
  });

  it('a relay that died holding a lease gives its rows to another once the lease ends', async () => {
    const w = await world();
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    const got = await collect(w.bus, TOPIC);
    const clock = createVirtualClock({ start: Date.now() });
    // The first relay claims and never returns from publishing (as if killed mid-publish).
    const stuck = createOutboxRelay({
      outbox,
      clock,
      leaseMs: 10_000,
      bus: { publishBatch: () => new Promise<void>(() => {}) },
    });
    const e1 = thing('k', 1);
    const e2 = thing('k', 2);
    outbox.add([e1, e2]);
    void stuck.flush();
    await waitFor(
      'the claim',
      () =>
        (
          w.db.prepare('SELECT count(*) AS n FROM sluice_outbox WHERE lease_owner IS NOT NULL').get() as {
            n: number;
          }
        ).n === 2,
    );
    const next = createOutboxRelay({ outbox, bus: w.bus, clock, leaseMs: 10_000 });
    expect(await next.flush()).toEqual({ published: 0, failed: 0 });
    await clock.advance(10_000);
    expect(await next.flush()).toEqual({ published: 2, failed: 0 });
    await waitFor('both events', () => got.ids.length === 2);
    expect(got.ids).toEqual([e1.id, e2.id]);
  });

  it('keeps sent rows for the retention, then prunes them; retention 0 deletes at once', async () => {
    const w = await world();
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    const clock = createVirtualClock({ start: Date.now() });
    const relay = createOutboxRelay({ outbox, bus: w.bus, clock, retentionMs: 60_000 });
    outbox.add([thing('a'), thing('b')]);
    await relay.flush();
    const count = () => (w.db.prepare('SELECT count(*) AS n FROM sluice_outbox').get() as { n: number }).n;
    expect(count()).toBe(2);
    await clock.advance(60_001);
    await relay.flush();
    expect(count()).toBe(0);

    // A relay may be created before the table exists.
    const eager = createOutboxRelay({
      outbox: createSqliteOutbox(w.db, { table: 'later' }),
      bus: w.bus,
      retentionMs: 0,
    });
    const later = createSqliteOutbox(w.db, { table: 'later' });
    later.install();
    later.add([thing('c')]);
    expect(await eager.flush()).toEqual({ published: 1, failed: 0 });
    expect((w.db.prepare('SELECT count(*) AS n FROM later').get() as { n: number }).n).toBe(0);
  });

  it('refuses bad relay options', async () => {
    const w = await world();
    const outbox = createSqliteOutbox(w.db);
    expect(() => createOutboxRelay({ outbox, bus: w.bus, batchSize: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(() => createOutboxRelay({ outbox: {} as never, bus: w.bus })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(() => createOutboxRelay({ outbox, bus: {} as never })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(await rejectionOf(Promise.resolve().then(() => createSqliteOutbox(null as never)))).toMatchObject({
      code: 'invalid_argument',
    });
  });
});
