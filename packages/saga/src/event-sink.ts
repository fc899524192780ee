import type { EventEnvelope } from '@sluice/contracts';
import type BetterSqlite3 from 'better-sqlite3';
import type { PoolClient } from 'pg';
import type { SagaEventType } from './lifecycle-events.js';

/** A saga lifecycle event as stored and published: a CloudEvents envelope. */
export type SagaEnvelope = EventEnvelope<Record<string, unknown>, SagaEventType>;

/**
 * The open store transaction a {@link SagaEventSink} writes into. The sink's
 * writes commit or roll back with the saga transition that caused the events.
 */
export type SagaTransaction =
  | {
      readonly dialect: 'sqlite';
      /** The database, inside a transaction: the sink must write synchronously. */
      readonly db: BetterSqlite3.Database;
    }
  | {
      readonly dialect: 'postgres';
      /** The connection, inside `BEGIN`. */
      readonly client: PoolClient;
      /** The schema the saga tables live in. */
      readonly schema: string;
    };

/**
 * Port: where lifecycle events go, called inside the store transaction of
 * the transition that caused them (a transactional outbox). The shop wires
 * `@sluice/messaging`'s outbox here; the default is {@link outboxTableSink}.
 *
 * On SQLite `append` must finish synchronously (return nothing, not a
 * promise): better-sqlite3 transactions cannot span an `await`.
 */
export interface SagaEventSink {
  append(tx: SagaTransaction, events: readonly SagaEnvelope[]): void | Promise<void>;
}

/** Options of {@link outboxTableSink}. */
export interface OutboxTableSinkOptions {
  /** Topic of each row. Default: the event's type (`saga.completed`). */
  readonly topic?: (event: SagaEnvelope) => string;
}

/** The name of the table {@link outboxTableSink} writes. */
export const SAGA_OUTBOX_TABLE = 'sluice_saga_outbox';

/** Brand the Postgres store recognises to fold the insert into its transition statement. */
export const BUILTIN_SINK: unique symbol = Symbol('sluice.saga.outbox-table-sink');

/** The built-in sink, as stores see it. @internal */
export interface OutboxTableSink extends SagaEventSink {
  readonly [BUILTIN_SINK]: true;
  readonly topicOf: (event: SagaEnvelope) => string;
}

/** The outbox row of an event: `[id, topic, key, envelope JSON]`. @internal */
export function outboxRow(sink: OutboxTableSink, event: SagaEnvelope): [string, string, string, string] {
  return [event.id, sink.topicOf(event), event.subject ?? event.correlationid, JSON.stringify(event)];
}

const sqliteInserts = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement>();

/**
 * The built-in {@link SagaEventSink}: writes each lifecycle envelope to the
 * `sluice_saga_outbox` table (`id`, `topic`, `key` = saga id, `envelope`
 * JSON, `created_at` epoch ms, `sent_at` null) in the same database and
 * transaction as the saga transition. The messaging outbox relay drains this
 * table (publishes unsent rows in `created_at` order, then sets `sent_at`).
 *
 * @example
 * ```ts
 * const store = createSqliteSagaStore({ path: 'data/orchestrator.db', events: outboxTableSink() });
 * ```
 */
export function outboxTableSink(options: OutboxTableSinkOptions = {}): SagaEventSink {
  const topicOf = options.topic ?? ((e: SagaEnvelope) => e.type);
  const sink: OutboxTableSink = {
    [BUILTIN_SINK]: true,
    topicOf,
    append(tx, events) {
      if (events.length === 0) return;
      if (tx.dialect === 'sqlite') {
        let insert = sqliteInserts.get(tx.db);
        if (insert === undefined) {
          insert = tx.db.prepare(
            `INSERT INTO ${SAGA_OUTBOX_TABLE} (id, topic, key, envelope, created_at) VALUES (?, ?, ?, ?, ?)`,
          );
          sqliteInserts.set(tx.db, insert);
        }
        for (const event of events) insert.run(...outboxRow(sink, event), Date.parse(event.time));
        return;
      }
      const values: unknown[] = [];
      const rows = events.map((event, i) => {
        values.push(...outboxRow(sink, event), Date.parse(event.time));
        const b = i * 5;
        return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}::jsonb, $${b + 5})`;
      });
      return tx.client
        .query(
          `INSERT INTO "${tx.schema}".${SAGA_OUTBOX_TABLE} (id, topic, key, envelope, created_at) VALUES ${rows.join(', ')}`,
          values,
        )
        .then(() => undefined);
    },
  };
  return sink;
}

/** True for the sink {@link outboxTableSink} returns. @internal */
export function isOutboxTableSink(sink: SagaEventSink): sink is OutboxTableSink {
  return (sink as Partial<OutboxTableSink>)[BUILTIN_SINK] === true;
}
