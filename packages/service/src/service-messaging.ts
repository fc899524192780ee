import type { EventEnvelope, EventRegistry } from '@sluice/contracts';
import {
  type Bus,
  createBus,
  createOutboxRelay,
  createPgOutbox,
  createSqliteOutbox,
  type OutboxRelay,
  type PgOutbox,
  type SqliteOutbox,
} from '@sluice/messaging';
import type { Logger } from '@sluice/observability';
import type pg from 'pg';
import type { ServiceDatabase } from './service-database.js';

/** Writes events into the outbox inside the caller's (synchronous) SQLite transaction. */
export type SqliteEventWriter = (events: readonly EventEnvelope[]) => void;

/** Writes events into the outbox on the caller's client, inside its open PostgreSQL transaction. */
export type PgEventWriter = (client: pg.PoolClient, events: readonly EventEnvelope[]) => Promise<void>;

/** A service's messaging: its bus, and the outbox in its own database. */
export interface ServiceMessaging {
  readonly bus: Bus;
  readonly relay: OutboxRelay;
  readonly outbox: SqliteOutbox | PgOutbox;
  /** The outbox writer for stores on a SQLite database (undefined on PostgreSQL). */
  readonly sqliteEvents: SqliteEventWriter | undefined;
  /** The outbox writer for stores on a PostgreSQL database (undefined on SQLite). */
  readonly pgEvents: PgEventWriter | undefined;
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
 * outbox in the service's own database, and a started relay that publishes
 * what the outbox commits. Stores write their events with `sqliteEvents` /
 * `pgEvents` inside their own transaction.
 */
export async function openServiceMessaging(options: ServiceMessagingOptions): Promise<ServiceMessaging> {
  const { database, registry } = options;
  const bus = await createBus({ url: options.brokerUrl, source: options.source, registry });
  let outbox: SqliteOutbox | PgOutbox;
  let sqliteEvents: SqliteEventWriter | undefined;
  let pgEvents: PgEventWriter | undefined;
  if (database.kind === 'sqlite') {
    const o = createSqliteOutbox(database.db, { registry });
    o.install();
    outbox = o;
    sqliteEvents = (events) => void o.add(events);
  } else {
    const o = createPgOutbox({ schema: database.schema, registry });
    await o.install(database.pool);
    outbox = o;
    pgEvents = async (client, events) => void (await o.add(client, events));
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
    sqliteEvents,
    pgEvents,
    async close() {
      await relay.flush().catch(() => {});
      await relay.stop();
      await bus.close();
    },
  };
}
