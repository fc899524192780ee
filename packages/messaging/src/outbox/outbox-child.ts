/**
 * A service process for the outbox crash tests:
 * `outbox-child.ts <service.db | postgres:<schema>> <bus url> <mode> <count>`. It commits `count`
 * state changes, each with its event in the same transaction, and prints
 * `{"committed":id}` per commit. Mode `commit` then prints `{"ready":true}`
 * and idles (killed before any publish). Mode `publish` then runs a relay
 * (lease 1 500 ms) whose transport really publishes and then never returns,
 * printing `{"published":[ids]}`: killed between publish and mark.
 */
import { randomUUID } from 'node:crypto';
import { createEnvelope } from '@sluice/contracts';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createBus } from '../bus/bus.js';
import { createTransport } from '../create-transport.js';
import type { OutgoingMessage } from '../transport.js';
import { createOutboxRelay } from './outbox-relay.js';
import { createPgOutbox, type PgOutbox } from './pg-outbox.js';
import { createSqliteOutbox, type SqliteOutbox } from './sqlite-outbox.js';

const [file, busUrl, mode, count] = process.argv.slice(2);
if (!file || !busUrl || (mode !== 'commit' && mode !== 'publish') || !count) {
  process.stderr.write(
    'usage: outbox-child.ts <service.db | postgres:<schema>> <bus url> commit|publish <count>\n',
  );
  process.exit(2);
}
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

const placed = (orderId: string) =>
  createEnvelope({
    type: 'order.placed',
    source: 'order',
    subject: orderId,
    data: { orderId },
    id: randomUUID(),
  });
let outbox: SqliteOutbox | PgOutbox;
let pool: pg.Pool | undefined;
let placeOrder: (orderId: string) => Promise<void>;
if (file.startsWith('postgres:')) {
  const schema = file.slice('postgres:'.length);
  const p = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 4 });
  pool = p;
  const pgOutbox = createPgOutbox({ schema });
  outbox = pgOutbox;
  await pgOutbox.install(p);
  await p.query(`CREATE TABLE IF NOT EXISTS "${schema}".orders (id TEXT PRIMARY KEY, status TEXT NOT NULL)`);
  placeOrder = async (orderId) => {
    const client = await p.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO "${schema}".orders (id, status) VALUES ($1, 'pending')`, [orderId]);
      await pgOutbox.add(client, [placed(orderId)]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };
} else {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, status TEXT NOT NULL)');
  const sqliteOutbox = createSqliteOutbox(db);
  outbox = sqliteOutbox;
  sqliteOutbox.install();
  const tx = db.transaction((orderId: string) => {
    db.prepare('INSERT INTO orders (id, status) VALUES (?, ?)').run(orderId, 'pending');
    sqliteOutbox.add([placed(orderId)]);
  });
  placeOrder = async (orderId) => tx(orderId);
}
for (let i = 0; i < Number(count); i++) {
  const orderId = `o-${process.pid}-${i}`;
  await placeOrder(orderId);
  print({ committed: orderId });
}

if (mode === 'commit') {
  print({ ready: true });
} else {
  const inner = await createTransport(busUrl);
  const transport = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'publish')
        return async (topic: string, messages: readonly OutgoingMessage[]) => {
          await target.publish(topic, messages);
          print({ published: messages.map((m) => m.id) });
          await new Promise(() => {}); // the process dies here, before the relay marks the rows sent
        };
      return Reflect.get(target, prop, receiver);
    },
  });
  const bus = await createBus({ transport, source: 'order' });
  const relay = createOutboxRelay({ outbox, bus, leaseMs: 1_500, ...(pool ? { pool } : {}) });
  await relay.start();
}
setInterval(() => {}, 60_000);
