import type { EventEnvelope } from '@sluice/contracts';
import type BetterSqlite3 from 'better-sqlite3';
import type { PoolClient } from 'pg';
import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import type { PgOutbox } from './pg-outbox.js';
import { createSqliteOutbox, type SqliteOutbox } from './sqlite-outbox.js';

/**
 * The open store transaction a saga event sink writes into — structurally
 * the `SagaTransaction` of `@sluice/saga` (which this package does not import).
 */
export type OutboxSagaTransaction =
  | {
      readonly dialect: 'sqlite';
      /** The saga store's database, inside a transaction: writes must be synchronous. */
      readonly db: BetterSqlite3.Database;
    }
  | {
      readonly dialect: 'postgres';
      /** The saga store's connection, inside `BEGIN`. */
      readonly client: PoolClient;
      /** The schema of the saga tables (the outbox keeps its own schema). */
      readonly schema: string;
    };

/** Structurally a `SagaEventSink` of `@sluice/saga`: pass it as a saga store's `events` option. */
export interface OutboxSagaSink {
  append(tx: OutboxSagaTransaction, events: readonly EventEnvelope[]): void | Promise<void>;
}

/** Options of {@link outboxSagaSink}: give the outbox of each dialect the saga store may use. */
export interface OutboxSagaSinkOptions {
  /**
   * The SQLite outbox. The sink writes to its table through the transaction's
   * own connection (`tx.db`), which must be a connection to the same file for
   * the relay of this outbox to see the rows; the table is installed on that
   * connection if missing.
   */
  readonly sqlite?: SqliteOutbox;
  /** The PostgreSQL outbox (`install` it first). Its schema and table are used, not `tx.schema`. */
  readonly postgres?: PgOutbox;
  /** Topic of each event. Default: the event's type (`saga.completed`). */
  readonly topic?: (event: EventEnvelope) => string;
}

/**
 * Adapts the outbox to the saga package's event sink, so saga lifecycle
 * events commit with the saga transition that caused them and are published
 * by the same relay as the service's own events. Each event's ordering key is
 * its `subject` (the saga id), else its correlation id.
 *
 * @example
 * ```ts
 * const events = outboxSagaSink({ sqlite: outbox });
 * const store = createSqliteSagaStore({ path: 'data/orchestrator.db', events });
 * ```
 */
export function outboxSagaSink(options: OutboxSagaSinkOptions): OutboxSagaSink {
  const { sqlite, postgres } = options;
  if (sqlite === undefined && postgres === undefined)
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      'outboxSagaSink needs an outbox',
      [{ field: 'sqlite', message: 'give sqlite, postgres or both' }],
    );
  const topicOf = options.topic ?? ((e: EventEnvelope) => e.type);
  // The outbox of another connection to the same table (the saga store's own), made once per connection.
  const perConnection = new WeakMap<BetterSqlite3.Database, SqliteOutbox>();
  const entriesOf = (events: readonly EventEnvelope[]) =>
    events.map((event) => ({
      event,
      topic: topicOf(event),
      orderingKey: event.subject ?? event.correlationid,
    }));
  const unconfigured = (dialect: string) =>
    messagingError(
      'failed_precondition',
      MessagingReasons.OUTBOX_UNCONFIGURED,
      `outboxSagaSink has no ${dialect} outbox for a ${dialect} saga store`,
      [{ field: dialect, message: 'not configured' }],
    );

  return {
    append(tx, events) {
      if (events.length === 0) return;
      if (tx.dialect === 'sqlite') {
        if (sqlite === undefined) throw unconfigured('sqlite');
        let outbox = tx.db === sqlite.db ? sqlite : perConnection.get(tx.db);
        if (outbox === undefined) {
          outbox = createSqliteOutbox(tx.db, { table: sqlite.table, ...sqlite.validation });
          outbox.install();
          perConnection.set(tx.db, outbox);
        }
        outbox.add(entriesOf(events));
        return;
      }
      if (postgres === undefined) return Promise.reject(unconfigured('postgres'));
      return postgres.add(tx.client, entriesOf(events)).then(() => undefined);
    },
  };
}
