import { createEnvelope, type EventEnvelope } from '@sluice/contracts';
import type BetterSqlite3 from 'better-sqlite3';
import type { PoolClient } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../conformance/conformance-helpers.js';
import { collect, pgSchema, sqliteWorld } from './outbox.test-support.js';
import { createOutboxRelay } from './outbox-relay.js';
import { outboxSagaSink } from './outbox-saga-sink.js';
import { createPgOutbox } from './pg-outbox.js';
import { createSqliteOutbox } from './sqlite-outbox.js';

// The port as `@sluice/saga` declares it (packages/saga/src/event-sink.ts),
// copied here because messaging must not import saga: the sink has to stay
// assignable to it, which tsc checks below.
type SagaEventType = 'saga.started' | 'saga.completed';
type SagaEnvelope = EventEnvelope<Record<string, unknown>, SagaEventType>;
type SagaTransaction =
  | { readonly dialect: 'sqlite'; readonly db: BetterSqlite3.Database }
  | { readonly dialect: 'postgres'; readonly client: PoolClient; readonly schema: string };
interface SagaEventSink {
  append(tx: SagaTransaction, events: readonly SagaEnvelope[]): void | Promise<void>;
}

const sagaEvent = (type: SagaEventType, sagaId: string): SagaEnvelope =>
  createEnvelope({ type, source: 'orchestrator', subject: sagaId, data: { sagaId, saga: 'order' } });

describe('outboxSagaSink', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('writes saga events into the SQLite outbox inside the saga transaction (same or another connection), published by its relay', async () => {
    const w = await sqliteWorld();
    cleanups.push(w.dispose);
    const outbox = createSqliteOutbox(w.db);
    outbox.install();
    const sink: SagaEventSink = outboxSagaSink({ sqlite: outbox });
    const started = await collect(w.bus, 'saga.started');
    const completed = await collect(w.bus, 'saga.completed');
    const sagaDb = w.connect(); // the saga store's own connection to the same file
    sagaDb.exec('CREATE TABLE sagas (id TEXT PRIMARY KEY, state TEXT)');
    const s1 = sagaEvent('saga.started', 's-1');
    const c1 = sagaEvent('saga.completed', 's-1');
    sagaDb.transaction(() => {
      sagaDb.prepare('INSERT INTO sagas VALUES (?, ?)').run('s-1', 'running');
      expect(sink.append({ dialect: 'sqlite', db: sagaDb }, [s1])).toBeUndefined();
    })();
    w.db.transaction(() => sink.append({ dialect: 'sqlite', db: w.db }, [c1]))();
    expect(() =>
      sagaDb.transaction(() => {
        void sink.append({ dialect: 'sqlite', db: sagaDb }, [sagaEvent('saga.completed', 's-2')]);
        throw new Error('the transition failed');
      })(),
    ).toThrow('the transition failed');
    expect(await createOutboxRelay({ outbox, bus: w.bus }).flush()).toEqual({ published: 2, failed: 0 });
    await waitFor('both saga events', () => started.ids.length === 1 && completed.ids.length === 1);
    expect(started.byKey.get('s-1')).toEqual([s1.id]);
    expect(completed.byKey.get('s-1')).toEqual([c1.id]);
  });

  it('writes saga events through the PostgreSQL outbox on the saga transaction client', async () => {
    const w = await sqliteWorld();
    cleanups.push(w.dispose);
    const db = await pgSchema();
    cleanups.push(db.dispose);
    const outbox = createPgOutbox({ schema: db.schema });
    await outbox.install(db.pool);
    const sink: SagaEventSink = outboxSagaSink({ postgres: outbox, topic: () => 'saga.events' });
    const got = await collect(w.bus, 'saga.events');
    const client = await db.pool.connect();
    const s1 = sagaEvent('saga.started', 's-1');
    try {
      await client.query('BEGIN');
      await sink.append({ dialect: 'postgres', client, schema: 'saga_schema' }, [s1]);
      await client.query('COMMIT');
      await client.query('BEGIN');
      await sink.append({ dialect: 'postgres', client, schema: 'saga_schema' }, [
        sagaEvent('saga.completed', 's-1'),
      ]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await createOutboxRelay({ outbox, bus: w.bus, pool: db.pool }).flush()).toEqual({
      published: 1,
      failed: 0,
    });
    await waitFor('the saga event', () => got.ids.length === 1);
    expect(got.byKey.get('s-1')).toEqual([s1.id]);
  });

  it('refuses a dialect it has no outbox for, and a sink without any outbox', async () => {
    const w = await sqliteWorld();
    cleanups.push(w.dispose);
    const sqliteOnly = outboxSagaSink({ sqlite: createSqliteOutbox(w.db) });
    await expect(
      sqliteOnly.append({ dialect: 'postgres', client: {} as PoolClient, schema: 's' }, [
        sagaEvent('saga.started', 's'),
      ]),
    ).rejects.toMatchObject({ code: 'failed_precondition', reason: 'MESSAGING_OUTBOX_UNCONFIGURED' });
    const pgOnly = outboxSagaSink({ postgres: createPgOutbox() });
    expect(() => pgOnly.append({ dialect: 'sqlite', db: w.db }, [sagaEvent('saga.started', 's')])).toThrow(
      expect.objectContaining({ reason: 'MESSAGING_OUTBOX_UNCONFIGURED' }),
    );
    expect(() => outboxSagaSink({})).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});
