import type { EventEnvelope, EventRegistry } from '@sluice/contracts';
import {
  type Bus,
  createBus,
  createOutboxRelay,
  createPgInbox,
  createPgOutbox,
  createSqliteInbox,
  createSqliteOutbox,
  type OutboxRelay,
  type PgInbox,
  type PgOutbox,
  type SqliteInbox,
  type SqliteOutbox,
} from '@sluice/messaging';
import type { Logger } from '@sluice/observability';
import type pg from 'pg';
import type { ServiceDatabase } from './service-database.js';

/** "Consumer C handled event E": recorded in the same transaction as the handler's effects. */
export interface HandledMark {
  readonly consumer: string;
  readonly eventId: string;
}

/** Thrown inside a store transaction when its event was handled already: the transaction rolls back, the delivery is acknowledged. */
export class DuplicateEventError extends Error {
  constructor(readonly mark: HandledMark) {
    super(`${mark.consumer} handled event ${mark.eventId} already`);
  }
}

/** What a SQLite store calls inside its (synchronous) transaction. */
export interface SqliteTransactionHooks {
  writeEvents(events: readonly EventEnvelope[]): void;
  /** Records the mark; throws {@link DuplicateEventError} if it was there. */
  markHandled(mark: HandledMark): void;
}

/** What a PostgreSQL store calls on its client inside its transaction. */
export interface PgTransactionHooks {
  writeEvents(client: pg.PoolClient, events: readonly EventEnvelope[]): Promise<void>;
  /** Records the mark; rejects with {@link DuplicateEventError} if it was there. */
  markHandled(client: pg.PoolClient, mark: HandledMark): Promise<void>;
}

/** A service's messaging: its bus, and the outbox and inbox in its own database. */
export interface ServiceMessaging {
  readonly bus: Bus;
  readonly relay: OutboxRelay;
  readonly outbox: SqliteOutbox | PgOutbox;
  readonly inbox: SqliteInbox | PgInbox;
  /** Hooks for stores on a SQLite database (undefined on PostgreSQL). */
  readonly sqlite: SqliteTransactionHooks | undefined;
  /** Hooks for stores on a PostgreSQL database (undefined on SQLite). */
  readonly postgres: PgTransactionHooks | undefined;
  /** Stops the relay (after a last flush) and closes the bus. */
  close(): Promise<void>;
}

/** Options of {@link openServiceMessaging}. */
export interface ServiceMessagingOptions {
  readonly database: ServiceDatabase;
  /** `sqlite:./data/bus.db` (embedded, the default), `postgres://…`, `nats://…`, `amqp://…`. */
  readonly brokerUrl: string;
  /** The service name: events' `source`. */
  readonly source: string;
  readonly registry: EventRegistry;
  readonly logger?: Logger;
}

/**
 * Opens a service's messaging: the bus on the broker, the transactional
 * outbox and the inbox in the service's own database, and a started relay
 * that publishes what the outbox commits. Stores write their events with
 * `sqlite.writeEvents` / `postgres.writeEvents` inside their own transaction,
 * and event reactions record `markHandled` in that same transaction.
 */
export async function openServiceMessaging(options: ServiceMessagingOptions): Promise<ServiceMessaging> {
  const { database, registry } = options;
  const bus = await createBus({ url: options.brokerUrl, source: options.source, registry });
  let outbox: SqliteOutbox | PgOutbox;
  let inbox: SqliteInbox | PgInbox;
  let sqlite: SqliteTransactionHooks | undefined;
  let postgres: PgTransactionHooks | undefined;
  if (database.kind === 'sqlite') {
    const o = createSqliteOutbox(database.db, { registry });
    const i = createSqliteInbox(database.db);
    o.install();
    i.install();
    outbox = o;
    inbox = i;
    sqlite = {
      writeEvents: (events) => void o.add(events),
      markHandled: (mark) => {
        if (!i.markHandled(mark.consumer, mark.eventId)) throw new DuplicateEventError(mark);
      },
    };
  } else {
    const o = createPgOutbox({ schema: database.schema, registry });
    const i = createPgInbox({ schema: database.schema });
    await o.install(database.pool);
    await i.install(database.pool);
    outbox = o;
    inbox = i;
    postgres = {
      writeEvents: async (client, events) => void (await o.add(client, events)),
      markHandled: async (client, mark) => {
        if (!(await i.markHandled(client, mark.consumer, mark.eventId))) throw new DuplicateEventError(mark);
      },
    };
  }
  const relay = createOutboxRelay({
    outbox,
    bus,
    ...(database.kind === 'postgres' ? { pool: database.pool } : {}),
  });
  relay.onError((e) =>
    options.logger?.warn({ stage: e.stage, ids: e.ids, err: e.error }, 'outbox relay error'),
  );
  await relay.start();
  return {
    bus,
    relay,
    outbox,
    inbox,
    sqlite,
    postgres,
    async close() {
      await relay.flush().catch(() => {});
      await relay.stop();
      await bus.close();
    },
  };
}
