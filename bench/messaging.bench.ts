/**
 * `npm run bench messaging`: the embedded (SQLite) transport of
 * @sluice/messaging, durable (WAL, `synchronous=NORMAL` unless stated), on a
 * fresh file in the OS temp directory per run:
 *
 * - **batched**: N messages published in batches of BATCH (one commit each)
 *   while one consumer (prefetch BATCH) acknowledges them (acks of one tick
 *   share a commit); messages/s from the first publish to the last ack;
 * - **one-by-one**: N messages, each published by its own awaited call (its
 *   own commit), each acknowledged by its own ack call, prefetch 10 (the
 *   default); and strictly one at a time (prefetch 1: one claim and one ack
 *   commit per message);
 * - the same two through the bus (`createBus`: JSON envelopes validated by
 *   the shop's event registry at both ends), to show its cost;
 * - **latency** at a fixed 1,000 msg/s for LAT_SECONDS: publish → handler
 *   start, with the consumer in the same process (in-process wake-up) and in
 *   another process (UDP doorbell), p50 and p99;
 * - a raw better-sqlite3 queue doing the minimum for the same one-by-one work
 *   (insert a row; claim it with `UPDATE … RETURNING`; delete it) as the peer.
 *
 * Every figure is the median of RUNS runs; every loop is bounded.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createShopEventRegistry } from '@sluice/contracts';
import { createBus, createTransport, type Transport } from '@sluice/messaging';
import Database from 'better-sqlite3';
import { machineLine, median, percentile, writeSection } from './lib/results.js';

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
const N_BATCHED = 30_000;
const BATCH = 500;
const N_ONE = 5_000;
const N_FULL = 300;
const LAT_SECONDS = 2;
const RATE = 1_000;
const TIMEOUT_MS = 120_000;
const BODY = new Uint8Array(128).fill(120);
const here = path.dirname(fileURLToPath(import.meta.url));

async function withFile<T>(fn: (url: string, dir: string) => Promise<T>, query = ''): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-'));
  try {
    return await fn(`sqlite:${path.join(dir, 'bus.db')}${query}`, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function deadline<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves after `n` calls of the returned `tick`. */
function counter(n: number): { tick: () => void; done: Promise<void> } {
  let seen = 0;
  let finish!: () => void;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  return {
    tick: () => {
      if (++seen === n) finish();
    },
    done,
  };
}

/**
 * Transport: publish and consume concurrently; returns msgs/s. One-by-one:
 * one message per publish call and one ack call per message, with `prefetch`
 * handlers at once (the default 10, or 1 for the strict variant).
 */
async function transportThroughput(
  batched: boolean,
  query = '',
  n = batched ? N_BATCHED : N_ONE,
  prefetch = batched ? BATCH : 10,
): Promise<number> {
  return withFile(async (url) => {
    const t: Transport = await createTransport(url);
    await t.declareGroup('bench', 'g');
    const { tick, done } = counter(n);
    await t.consume(
      'bench',
      'g',
      async (d) => {
        await d.ack();
        tick();
      },
      { prefetch },
    );
    const t0 = performance.now();
    if (batched)
      for (let i = 0; i < n; i += BATCH)
        await t.publish(
          'bench',
          Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => ({ id: `m-${i + k}`, body: BODY })),
        );
    else for (let i = 0; i < n; i++) await t.publish('bench', [{ id: `m-${i}`, body: BODY }]);
    await deadline(done, 'transport consume');
    const elapsed = performance.now() - t0;
    await t.close();
    return (n / elapsed) * 1000;
  }, query);
}

/** Bus: the same with validated JSON envelopes. */
async function busThroughput(batched: boolean): Promise<number> {
  const n = batched ? N_BATCHED / 5 : N_ONE / 2;
  return withFile(async (url) => {
    const bus = await createBus({ url, source: 'bench', registry: createShopEventRegistry() });
    const { tick, done } = counter(n);
    await bus.subscribe('notification.sent', { group: 'g', prefetch: batched ? BATCH : 10 }, async () =>
      tick(),
    );
    const event = (i: number) =>
      bus.event({
        type: 'notification.sent',
        data: { messageId: `m-${i}`, to: 'a@example.com', templateId: 't' },
      });
    const t0 = performance.now();
    if (batched)
      for (let i = 0; i < n; i += BATCH)
        await bus.publishBatch(
          Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => ({ event: event(i + k) })),
        );
    else for (let i = 0; i < n; i++) await bus.publish(event(i));
    await deadline(done, 'bus consume');
    const elapsed = performance.now() - t0;
    await bus.close();
    return (n / elapsed) * 1000;
  });
}

/** Peer: the least a SQLite queue can do one-by-one (insert; claim with UPDATE … RETURNING; delete). */
function rawSqliteThroughput(): Promise<number> {
  return withFile(async (_url, dir) => {
    const db = new Database(path.join(dir, 'raw.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(
      'CREATE TABLE q (seq INTEGER PRIMARY KEY, body BLOB NOT NULL, due_at INTEGER NOT NULL, owner TEXT); CREATE INDEX q_due ON q (seq, due_at)',
    );
    const insert = db.prepare('INSERT INTO q (body, due_at) VALUES (?, ?)');
    const claim = db.prepare(
      'UPDATE q SET owner = ?, due_at = ? WHERE seq IN (SELECT seq FROM q WHERE due_at <= ? ORDER BY seq LIMIT 1) RETURNING seq, body',
    );
    const del = db.prepare('DELETE FROM q WHERE seq = ?');
    const t0 = performance.now();
    // Interleaved as the embedded one-by-one run is: publish one, handle one.
    for (let i = 0; i < N_ONE; i++) {
      insert.run(BODY, Date.now());
      const row = claim.get('me', Date.now() + 10_000, Date.now()) as { seq: number } | undefined;
      if (row) del.run(row.seq);
      if (i % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    const elapsed = performance.now() - t0;
    db.close();
    return (N_ONE / elapsed) * 1000;
  });
}

/** Publishes one message per ms for LAT_SECONDS; the body is the send time. */
async function publishAtRate(t: Transport): Promise<void> {
  const total = RATE * LAT_SECONDS;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait >= 1) await new Promise((r) => setTimeout(r, Math.floor(wait)));
    await t.publish('lat', [
      { id: `l-${i}`, body: new TextEncoder().encode(String(performance.timeOrigin + performance.now())) },
    ]);
  }
}

async function latencyInProcess(): Promise<{ p50: number; p99: number }> {
  return withFile(async (url) => {
    const t = await createTransport(url);
    const total = RATE * LAT_SECONDS;
    const latencies: number[] = [];
    const { tick, done } = counter(total);
    const decoder = new TextDecoder();
    await t.consume(
      'lat',
      'g',
      async (d) => {
        latencies.push(performance.timeOrigin + performance.now() - Number(decoder.decode(d.body)));
        await d.ack();
        tick();
      },
      { prefetch: 16 },
    );
    await publishAtRate(t);
    await deadline(done, 'latency consume');
    await t.close();
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  });
}

async function latencyCrossProcess(): Promise<{ p50: number; p99: number }> {
  return withFile(async (url) => {
    const t = await createTransport(url);
    await t.declareGroup('lat', 'g');
    const total = RATE * LAT_SECONDS;
    const child = spawn(
      process.execPath,
      [
        '--conditions=sluice-source',
        '--import',
        'tsx',
        path.join(here, 'lib', 'messaging-embedded-child.ts'),
        url,
        'lat',
        String(total),
      ],
      { cwd: path.join(here, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines: Array<{ ready?: boolean; latencies?: number[] }> = [];
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => {
      buf += c;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
    try {
      await deadline(
        (async () => {
          for (let i = 0; i < 3_000 && !lines.some((l) => l.ready); i++)
            await new Promise((r) => setTimeout(r, 10));
        })(),
        'child ready',
      );
      await publishAtRate(t);
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      await deadline(exited, 'child consume');
      const latencies = lines.find((l) => l.latencies)?.latencies ?? [];
      if (latencies.length !== total) throw new Error(`child saw ${latencies.length} of ${total}`);
      return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
    } finally {
      child.kill('SIGKILL');
      await t.close();
    }
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => n.toFixed(2);

async function main(): Promise<void> {
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number) => {
    rows[k] = [...(rows[k] ?? []), v];
  };
  for (let run = 1; run <= RUNS; run++) {
    add('batched', await transportThroughput(true));
    add('one', await transportThroughput(false));
    add('strict', await transportThroughput(false, '', N_ONE, 1));
    add('full', await transportThroughput(false, '?synchronous=full', N_FULL));
    add('raw', await rawSqliteThroughput());
    add('busBatched', await busThroughput(true));
    add('busOne', await busThroughput(false));
    // Ratios within the run (the machine's load changes between runs).
    const last = (k: string) => rows[k]?.at(-1) ?? Number.NaN;
    add('ratioRaw', last('strict') / last('raw'));
    add('ratioBusBatched', last('busBatched') / last('batched'));
    add('ratioBusOne', last('busOne') / last('one'));
    const lin = await latencyInProcess();
    add('inP50', lin.p50);
    add('inP99', lin.p99);
    const lx = await latencyCrossProcess();
    add('xP50', lx.p50);
    add('xP99', lx.p99);
    console.log(
      `run ${run}: batched ${fmt(rows.batched?.at(-1) ?? 0)}/s, one-by-one ${fmt(rows.one?.at(-1) ?? 0)}/s, ` +
        `latency in-process p99 ${ms(lin.p99)} ms, cross-process p99 ${ms(lx.p99)} ms`,
    );
  }
  const m = (k: string) => median(rows[k] ?? [0]);
  /** The spread of a measure over the runs: the machine is shared, so it is wide. */
  const spread = (k: string, f: (n: number) => string) =>
    `${f(Math.min(...(rows[k] ?? [0])))}–${f(Math.max(...(rows[k] ?? [0])))}`;
  const load = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');
  const md = `## Messaging: embedded transport (SQLite)

Date: ${new Date().toISOString().slice(0, 10)}. Command: \`npm run bench messaging\`. Setup: ${machineLine()}; better-sqlite3 12.11.1; a fresh SQLite file in the OS temp dir per run (WAL, \`synchronous=NORMAL\` unless stated), ${BODY.byteLength}-byte bodies; publisher and consumer in one process except the cross-process latency row (consumer in a child process, woken by the UDP doorbell). Medians of ${RUNS} runs. Load average at the end (1/5/15 min): ${load} — the machine is shared, so absolute figures are well below what an idle machine gives; compare within the table.

| measure | median | min–max of the runs | target |
|---|---:|---:|---|
| batched publish+consume (${fmt(N_BATCHED)} msgs, batches of ${BATCH}, prefetch ${BATCH}) | ${fmt(m('batched'))} msg/s | ${spread('batched', fmt)} | ≥ 50,000 msg/s: ${verdict(m('batched') >= 50_000)} |
| one-by-one publish+consume (${fmt(N_ONE)} msgs, one publish call and commit per message, one ack call per message, prefetch 10) | ${fmt(m('one'))} msg/s | ${spread('one', fmt)} | ≥ 10,000 msg/s: ${verdict(m('one') >= 10_000)} |
| the same with prefetch 1 (one claim and one ack commit per message) | ${fmt(m('strict'))} msg/s | ${spread('strict', fmt)} | |
| one-by-one with \`synchronous=FULL\` (${fmt(N_FULL)} msgs, prefetch 10, fsync per commit) | ${fmt(m('full'))} msg/s | ${spread('full', fmt)} | (power-loss safe) |
| peer: raw better-sqlite3 queue, one-by-one (insert, claim, delete: 3 commits per message) | ${fmt(m('raw'))} msg/s | ${spread('raw', fmt)} | embedded prefetch 1 / raw = ${m('ratioRaw').toFixed(2)} (median of per-run ratios) |
| bus batched (validated JSON envelopes, ${fmt(N_BATCHED / 5)} msgs) | ${fmt(m('busBatched'))} msg/s | ${spread('busBatched', fmt)} | bus/transport = ${m('ratioBusBatched').toFixed(2)} |
| bus one-by-one (${fmt(N_ONE / 2)} msgs) | ${fmt(m('busOne'))} msg/s | ${spread('busOne', fmt)} | bus/transport = ${m('ratioBusOne').toFixed(2)} |
| publish→handler latency at ${fmt(RATE)} msg/s for ${LAT_SECONDS} s, same process: p50 / p99 | ${ms(m('inP50'))} / ${ms(m('inP99'))} ms | p99 ${spread('inP99', ms)} | p99 ≤ 10 ms: ${verdict(m('inP99') <= 10)} |
| the same, consumer in another process (doorbell): p50 / p99 | ${ms(m('xP50'))} / ${ms(m('xP99'))} ms | p99 ${spread('xP99', ms)} | p99 ≤ 10 ms: ${verdict(m('xP99') <= 10)} |

The raw peer does no fan-out, priority, ordering keys, leases or DLQ and runs publish and claim back to back in one loop with no promises; the ratio is the price of those features and of the async API.
`;
  console.log(md);
  writeSection('messaging', md);
}

await main();
