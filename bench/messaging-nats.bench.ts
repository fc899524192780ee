/**
 * `npm run bench messaging-nats`: the @sluice/messaging NATS JetStream
 * transport against raw @nats-io/jetstream doing the same work, in the same
 * run, on the local NATS server (loopback):
 *
 * - publish N messages of BODY bytes, durably (each publish confirmed by a
 *   JetStream PubAck), with `Nats-Msg-Id` dedup ids, PUBLISH_WINDOW in flight;
 * - consume the N messages with one consumer, PREFETCH in flight, each one
 *   acknowledged with a server-confirmed ack (`+ACK` as a request / `ackAck()`).
 *
 * Both sides use an interest-retention file stream and a durable explicit-ack
 * pull consumer. The adapter's group also carries its priority, partition
 * and scheduler consumers (its emulation of the contract); raw has one
 * consumer. Runs alternate adapter / raw; every figure is the median of RUNS.
 */
import { randomBytes } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createTransport } from '@sluice/messaging';
import { machineLine, median, writeSection } from './lib/results.js';

const URL = process.env.SLUICE_NATS_URL ?? 'nats://127.0.0.1:4222';
const N = 20_000;
const BODY = 256;
const PUBLISH_WINDOW = 500;
const PREFETCH = 256;
const RUNS = 5;
const CONSUME_TIMEOUT_MS = 120_000;

interface Run {
  readonly publishMs: number;
  readonly consumeMs: number;
}

const body = randomBytes(BODY);

/** Publishes `n` messages in windows of `window`, each window awaited (both sides do the same). */
async function inWindows(n: number, window: number, send: (from: number, to: number) => Promise<void>) {
  for (let i = 0; i < n; i += window) await send(i, Math.min(n, i + window));
}

async function runAdapter(): Promise<Run> {
  const prefix = `bench_${randomBytes(4).toString('hex')}`;
  const transport = await createTransport(`${URL}?prefix=${prefix}`);
  try {
    const topic = 'bench';
    await transport.declareGroup(topic, 'g');
    const t0 = performance.now();
    await inWindows(N, PUBLISH_WINDOW, (from, to) =>
      transport.publish(
        topic,
        Array.from({ length: to - from }, (_, k) => ({ id: `m-${from + k}`, body })),
      ),
    );
    const t1 = performance.now();
    let done = 0;
    let finish!: () => void;
    const all = new Promise<void>((r) => {
      finish = r;
    });
    const consumer = await transport.consume(
      topic,
      'g',
      async (d) => {
        await d.ack();
        if (++done === N) finish();
      },
      { prefetch: PREFETCH },
    );
    await withTimeout(all, 'adapter consume');
    const t2 = performance.now();
    await consumer.stop();
    return { publishMs: t1 - t0, consumeMs: t2 - t1 };
  } finally {
    await transport.close();
    await deleteStreams(prefix.toUpperCase());
  }
}

async function runRaw(): Promise<Run> {
  const nc = await connect({ servers: URL });
  const stream = `BENCHRAW_${randomBytes(4).toString('hex')}`;
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await jsm.streams.add({
      name: stream,
      subjects: [`${stream}.>`],
      retention: RetentionPolicy.Interest,
      storage: StorageType.File,
    });
    await jsm.consumers.add(stream, {
      durable_name: 'g',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: `${stream}.n`,
      ack_wait: 10_000_000_000,
      max_ack_pending: 100_000,
    });
    const subject = `${stream}.n`;
    const t0 = performance.now();
    await inWindows(N, PUBLISH_WINDOW, async (from, to) => {
      const acks = [];
      for (let i = from; i < to; i++) acks.push(js.publish(subject, body, { msgID: `m-${i}` }));
      await Promise.all(acks);
    });
    const t1 = performance.now();
    const consumer = await js.consumers.get(stream, 'g');
    const messages = await consumer.consume({ max_messages: PREFETCH });
    let done = 0;
    let inFlight = 0;
    let finish!: () => void;
    const all = new Promise<void>((r) => {
      finish = r;
    });
    // Same shape as the adapter: each message handled concurrently, acked with a confirmed ack.
    const reader = (async () => {
      for await (const m of messages) {
        inFlight++;
        void m.ackAck().then(() => {
          inFlight--;
          if (++done === N) finish();
        });
        if (done + inFlight >= N) break;
      }
    })();
    await withTimeout(all, 'raw consume');
    const t2 = performance.now();
    await messages.close();
    await reader;
    return { publishMs: t1 - t0, consumeMs: t2 - t1 };
  } finally {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  }
}

async function deleteStreams(prefix: string): Promise<void> {
  const nc = await connect({ servers: URL });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`)) names.push(name);
    for (const name of names) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

async function withTimeout(p: Promise<void>, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} did not finish in ${CONSUME_TIMEOUT_MS} ms`)),
        CONSUME_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

const rate = (ms: number) => Math.round((N / ms) * 1000);

async function main(): Promise<void> {
  // One warm-up of each (JIT, connections, server file creation), not counted.
  await runAdapter();
  await runRaw();
  const adapter: Run[] = [];
  const raw: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    adapter.push(await runAdapter());
    raw.push(await runRaw());
    const a = adapter.at(-1) as Run;
    const r = raw.at(-1) as Run;
    console.log(
      `run ${i + 1}: adapter publish ${rate(a.publishMs)}/s consume ${rate(a.consumeMs)}/s | raw publish ${rate(r.publishMs)}/s consume ${rate(r.consumeMs)}/s`,
    );
  }
  const m = (runs: Run[], f: (r: Run) => number) => median(runs.map(f));
  const rows = [
    ['publish (durable, PubAck)', (r: Run) => rate(r.publishMs)],
    ['consume + confirmed ack', (r: Run) => rate(r.consumeMs)],
    ['publish + consume, end to end', (r: Run) => rate(r.publishMs + r.consumeMs)],
  ] as const;
  const table = rows.map(([label, f]) => {
    const a = m(adapter, f);
    const r = m(raw, f);
    return `| ${label} | ${a.toLocaleString('en-US')} | ${r.toLocaleString('en-US')} | ${(a / r).toFixed(2)}× |`;
  });
  const endToEnd = m(adapter, rows[2][1]) / m(raw, rows[2][1]);
  const markdown = `## messaging-nats: NATS JetStream adapter vs raw @nats-io/jetstream

${new Date().toISOString().slice(0, 10)} · \`npm run bench messaging-nats\` · ${machineLine()} · NATS server on loopback (${URL}).

Setup: ${N.toLocaleString('en-US')} messages of ${BODY} bytes per run; publish ${PUBLISH_WINDOW} at a time, each confirmed by a JetStream PubAck with a \`Nats-Msg-Id\`; then one consumer with ${PREFETCH} in flight acknowledges each message with a server-confirmed ack. Interest-retention file streams, durable explicit-ack pull consumers on both sides. The adapter is \`createTransport('nats://…')\` (publish → \`transport.publish\`, consume → \`transport.consume\` + \`delivery.ack()\`; its group also has the priority, ordering-key partition and scheduler consumers); raw is \`js.publish\` + \`consumer.consume()\` + \`ackAck()\`. Medians of ${RUNS} alternating runs after one warm-up each.

| messages/s (median of ${RUNS}) | adapter | raw | adapter / raw |
| --- | ---: | ---: | ---: |
${table.join('\n')}

Target ≥ 0.8× raw end to end: **${endToEnd >= 0.8 ? 'met' : 'not met'}** (${endToEnd.toFixed(2)}×).`;
  console.log(markdown);
  writeSection('messaging-nats', markdown);
}

await main();
