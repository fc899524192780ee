/**
 * A service process for the outbox crash tests:
 * `outbox-child.ts <service.db> <bus url> <mode> <count>`. It commits `count`
 * state changes, each with its event in the same transaction, and prints
 * `{"committed":id}` per commit. Mode `commit` then prints `{"ready":true}`
 * and idles (killed before any publish). Mode `publish` then runs a relay
 * (lease 1 500 ms) whose transport really publishes and then never returns,
 * printing `{"published":[ids]}`: killed between publish and mark.
 */
import { randomUUID } from 'node:crypto';
import { createEnvelope } from '@sluice/contracts';
import Database from 'better-sqlite3';
import { createBus } from '../bus/bus.js';
import { createTransport } from '../create-transport.js';
import type { OutgoingMessage } from '../transport.js';
import { createOutboxRelay } from './outbox-relay.js';
import { createSqliteOutbox } from './sqlite-outbox.js';

const [file, busUrl, mode, count] = process.argv.slice(2);
if (!file || !busUrl || (mode !== 'commit' && mode !== 'publish') || !count) {
  process.stderr.write('usage: outbox-child.ts <service.db> <bus url> commit|publish <count>\n');
  process.exit(2);
}
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
db.exec('CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, status TEXT NOT NULL)');
const outbox = createSqliteOutbox(db);
outbox.install();
const placeOrder = db.transaction((orderId: string) => {
  db.prepare('INSERT INTO orders (id, status) VALUES (?, ?)').run(orderId, 'pending');
  outbox.add([
    createEnvelope({
      type: 'order.placed',
      source: 'order',
      subject: orderId,
      data: { orderId },
      id: randomUUID(),
    }),
  ]);
});
for (let i = 0; i < Number(count); i++) {
  const orderId = `o-${process.pid}-${i}`;
  placeOrder(orderId);
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
  const relay = createOutboxRelay({ outbox, bus, leaseMs: 1_500 });
  await relay.start();
}
setInterval(() => {}, 60_000);
