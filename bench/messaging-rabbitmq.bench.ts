/**
 * `npm run bench messaging-rabbitmq`: publish + consume throughput of the
 * @sluice/messaging RabbitMQ transport against raw amqplib 2.3.1 doing the
 * same work on the same broker, in one process:
 *
 * - the same topology (a durable direct exchange into a durable classic queue
 *   with `x-max-priority: 2`, the transport's group queue),
 * - persistent messages with a message id, a publish-time header and a
 *   `content-type` header, published on a confirm channel in batches of
 *   BATCH, each batch awaited until the broker confirms it,
 * - one consumer with prefetch PREFETCH acknowledging every message,
 * - the clock runs from the first publish until the consumer has acked the
 *   last message.
 *
 * A second scenario publishes one message at a time (each awaited until
 * confirmed) while the consumer runs: the per-call overhead of the adapter.
 * Every figure is the median of ROUNDS runs; the two clients alternate round
 * by round so drift of the shared machine hits both alike.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { createTransport, type RabbitMqTransport } from '@sluice/messaging';
import amqp from 'amqplib';
import { machineLine, median, writeSection } from './lib/results.js';

const URL = process.env.SLUICE_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
const ROUNDS = 7;
const BATCHED = 20_000;
const ONE_BY_ONE = 1_000;
const BATCH = 100;
const PREFETCH = 100;
const BODY = Buffer.from(
  JSON.stringify({ type: 'order.placed', data: { orderId: 'o-123', total: 4200, items: 3 } }).padEnd(
    256,
    ' ',
  ),
);
const DEADLINE_MS = 120_000;

/** Throughput of one run, and this process's CPU time per message inside the timed window. */
interface RunResult {
  readonly rate: number;
  readonly cpuUs: number;
}

type Run = (count: number, batch: number) => Promise<RunResult>;

/** Starts the clock (wall and CPU); the returned function stops it. */
function startClock(count: number): () => RunResult {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpu0);
    return { rate: count / ((performance.now() - start) / 1000), cpuUs: (cpu.user + cpu.system) / count };
  };
}

/** Resolves when `done()` reports true, or fails after DEADLINE_MS (every wait is bounded). */
function until(done: () => boolean): { promise: Promise<void>; check: () => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const t = setTimeout(() => reject(new Error('benchmark run exceeded its deadline')), DEADLINE_MS);
  const check = () => {
    if (done()) {
      clearTimeout(t);
      resolve();
    }
  };
  return { promise, check };
}

/** Our transport: publish batches through `transport.publish`, consume with `transport.consume`. */
async function sluiceRun(count: number, batch: number): Promise<RunResult> {
  const prefix = `bench-rmq-${randomBytes(4).toString('hex')}`;
  const transport = (await createTransport(`${URL}?prefix=${prefix}`)) as RabbitMqTransport;
  try {
    await transport.declareGroup('orders', 'bench');
    let acked = 0;
    const finished = until(() => acked === count);
    await transport.consume(
      'orders',
      'bench',
      async (d) => {
        await d.ack();
        acked++;
        finished.check();
      },
      { prefetch: PREFETCH },
    );
    const stop = startClock(count);
    for (let i = 0; i < count; i += batch) {
      const messages = [];
      for (let j = i; j < Math.min(count, i + batch); j++) {
        messages.push({ id: `m-${j}`, body: BODY, headers: { 'content-type': 'application/json' } });
      }
      await transport.publish('orders', messages);
    }
    await finished.promise;
    return stop();
  } finally {
    await transport.deleteTopology();
  }
}

/** Raw amqplib doing the same: same exchange/queue kinds, confirms, persistence, ids, headers, prefetch. */
async function rawRun(count: number, batch: number): Promise<RunResult> {
  const name = `bench-raw-${randomBytes(4).toString('hex')}`;
  const pubConn = await amqp.connect(URL);
  const subConn = await amqp.connect(URL);
  try {
    const pub = await pubConn.createConfirmChannel();
    await pub.assertExchange(name, 'direct', { durable: true });
    await pub.assertQueue(name, { durable: true, arguments: { 'x-max-priority': 2 } });
    await pub.bindQueue(name, name, 'main');
    const sub = await subConn.createChannel();
    await sub.prefetch(PREFETCH);
    let acked = 0;
    const finished = until(() => acked === count);
    await sub.consume(name, (msg) => {
      if (!msg) return;
      sub.ack(msg);
      acked++;
      finished.check();
    });
    const stop = startClock(count);
    for (let i = 0; i < count; i += batch) {
      const confirms: Promise<void>[] = [];
      for (let j = i; j < Math.min(count, i + batch); j++) {
        confirms.push(
          new Promise<void>((resolve, reject) => {
            pub.publish(
              name,
              'main',
              BODY,
              {
                persistent: true,
                messageId: `m-${j}`,
                priority: 1,
                headers: { 'content-type': 'application/json', 'x-sluice-published-at': Date.now() },
              },
              (err) => (err ? reject(err) : resolve()),
            );
          }),
        );
      }
      await Promise.all(confirms);
    }
    await finished.promise;
    const result = stop();
    await pub.deleteQueue(name);
    await pub.deleteExchange(name);
    return result;
  } finally {
    await pubConn.close().catch(() => {});
    await subConn.close().catch(() => {});
  }
}

async function measure(label: string, count: number, batch: number) {
  const runs: Record<'sluice' | 'raw', number[]> = { sluice: [], raw: [] };
  // CPU time of this process (publisher + consumer) per message, in the timed window: the adapter's own cost, steadier than msg/s.
  const cpu: Record<'sluice' | 'raw', number[]> = { sluice: [], raw: [] };
  const order: Array<['sluice' | 'raw', Run]> = [
    ['raw', rawRun],
    ['sluice', sluiceRun],
  ];
  // One unmeasured warm-up of each (JIT, broker queue processes).
  for (const [, run] of order) await run(Math.min(count, 2_000), batch);
  for (let round = 0; round < ROUNDS; round++) {
    const pair = round % 2 === 0 ? order : [...order].reverse();
    for (const [who, run] of pair) {
      const { rate, cpuUs } = await run(count, batch);
      runs[who].push(rate);
      cpu[who].push(cpuUs);
      console.log(
        `${label} round ${round + 1} ${who}: ${Math.round(rate)} msg/s, ${cpuUs.toFixed(1)} µs CPU/msg`,
      );
    }
  }
  return {
    label,
    sluice: median(runs.sluice),
    raw: median(runs.raw),
    cpuSluice: median(cpu.sluice),
    cpuRaw: median(cpu.raw),
  };
}

const load = os.loadavg()[0]?.toFixed(1);
const batched = await measure(`batched (${BATCHED} messages, batches of ${BATCH})`, BATCHED, BATCH);
const single = await measure(`one by one (${ONE_BY_ONE} messages, each publish awaited)`, ONE_BY_ONE, 1);

const rows = [batched, single].map(
  (r) =>
    `| ${r.label} | ${Math.round(r.sluice).toLocaleString('en-US')} | ${Math.round(r.raw).toLocaleString('en-US')} | ${(r.sluice / r.raw).toFixed(2)}× | ${r.cpuSluice.toFixed(1)} | ${r.cpuRaw.toFixed(1)} |`,
);
const rabbitVersion = (await amqp.connect(URL).then(async (c) => {
  const v = String(c.connection.serverProperties.version ?? 'unknown');
  await c.close();
  return v;
})) as string;
writeSection(
  'messaging-rabbitmq',
  `## @sluice/messaging — RabbitMQ transport vs raw amqplib

${new Date().toISOString().slice(0, 10)} · \`npm run bench messaging-rabbitmq\` · ${machineLine()} · RabbitMQ ${rabbitVersion} on loopback, amqplib 2.3.1 · load average ${load} at the start (the machine is shared; the broker's fsyncs dominate, so msg/s moves with the load while the CPU per message is steadier).

Publish + consume throughput, messages/s (median of ${ROUNDS} runs, the two clients alternating). Both sides: a durable direct exchange into a durable classic queue with \`x-max-priority: 2\`, persistent ${BODY.length}-byte messages with a message id and headers, publisher confirms awaited per batch, one consumer with prefetch ${PREFETCH} acking each message; the clock runs from the first publish to the last ack. The adapter additionally validates every message, builds a \`Delivery\` per message, keeps its idle ordering-partition consumers (8 quorum queues) and its in-flight accounting.

| scenario | @sluice/messaging rabbitmq | raw amqplib | ratio | µs CPU/msg, adapter | µs CPU/msg, raw |
|---|---:|---:|---:|---:|---:|
${rows.join('\n')}

Target: the adapter ≥ 0.8× raw.`,
);
console.log(rows.join('\n'));
