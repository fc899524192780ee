import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnvelope, type EventEnvelope } from '@sluice/contracts';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type Bus, createBus } from '../bus/bus.js';
import { uniqueSuffix } from '../conformance/conformance-helpers.js';
import { createTransport } from '../create-transport.js';
import type { OutgoingMessage, Transport } from '../transport.js';

/** Test fixtures of the outbox and inbox: temp SQLite files, an embedded bus, PostgreSQL schemas. @internal */

/** A test envelope of type `shop.thing_happened` about `subject`. */
export function thing(subject: string | undefined, n = 0, id: string = randomUUID()): EventEnvelope {
  return createEnvelope({
    type: 'shop.thing_happened',
    source: 'test',
    id,
    ...(subject === undefined ? {} : { subject }),
    data: { n },
  });
}

/** A temp directory with a service database (`service.db`) and an embedded bus (`bus.db`). */
export interface SqliteWorld {
  readonly dir: string;
  readonly db: Database.Database;
  readonly transport: Transport;
  readonly bus: Bus;
  readonly busUrl: string;
  /** Opens another connection to the service database (closed by dispose). */
  connect(): Database.Database;
  dispose(): Promise<void>;
}

export async function sqliteWorld(wrap?: (t: Transport) => Transport): Promise<SqliteWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-outbox-'));
  const open: Database.Database[] = [];
  const connect = () => {
    const db = new Database(join(dir, 'service.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    open.push(db);
    return db;
  };
  const db = connect();
  const busUrl = `sqlite:${join(dir, 'bus.db')}`;
  const inner = await createTransport(busUrl);
  const transport = wrap ? wrap(inner) : inner;
  const bus = await createBus({ transport, source: 'test' });
  return {
    dir,
    db,
    transport,
    bus,
    busUrl,
    connect,
    async dispose() {
      await bus.close();
      await inner.close();
      for (const d of open) if (d.open) d.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A real transport with injected publish failures: `publish` throws when
 * `failWhen(message)` is true for a message of the batch (nothing of that
 * batch is sent). Fault injection, not a mock: everything else is the real
 * transport.
 */
export function failingPublishes(
  inner: Transport,
  failWhen: (topic: string, message: OutgoingMessage) => boolean,
): Transport {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'publish')
        return async (topic: string, messages: readonly OutgoingMessage[]) => {
          if (messages.some((m) => failWhen(topic, m))) throw new Error(`injected failure on ${topic}`);
          return target.publish(topic, messages);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** Envelope ids a test subscription received, in order, with their ordering keys. */
export interface Collected {
  readonly ids: string[];
  readonly byKey: Map<string, string[]>;
}

/** Subscribes a recording group to `topic`. */
export async function collect(bus: Bus, topic: string, group = 'g'): Promise<Collected> {
  const ids: string[] = [];
  const byKey = new Map<string, string[]>();
  await bus.subscribe(topic, { group, prefetch: 20 }, (event, ctx) => {
    ids.push(event.id);
    const k = ctx.orderingKey ?? '';
    byKey.set(k, [...(byKey.get(k) ?? []), event.id]);
  });
  return { ids, byKey };
}

/** A PostgreSQL pool on the shared local server and a fresh schema dropped by `dispose`. */
export async function pgSchema(): Promise<{ pool: pg.Pool; schema: string; dispose(): Promise<void> }> {
  const schema = `messaging_outbox_${uniqueSuffix()}`;
  const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 8 });
  return {
    pool,
    schema,
    async dispose() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}
