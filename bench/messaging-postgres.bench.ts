/**
 * `npm run bench messaging-postgres`: the @sluice/messaging PostgreSQL
 * transport against pg-boss 10.4.2, in the same run, on the same local
 * PostgreSQL database (each in its own fresh schema, dropped afterwards),
 * with the same job count, body, publish batches and handler concurrency:
 *
 * - consumers start first; then N jobs are published in batches of
 *   PUBLISH_BATCH (each batch one awaited, committed call: `publish(topic, batch)`
 *   / `boss.insert(batch)`), while the consumers run;
 * - every job is handled by a no-op handler and completed (`ack()` /
 *   pg-boss's completion of the fetched batch);
 * - time from the first publish to the last job handled = publish+consume
 *   throughput; the time to publish everything is reported too.
 *
 * Concurrency: CONCURRENCY jobs in flight at most. Sluice: WORKERS consumers
 * of one group with `prefetch` = CONCURRENCY / WORKERS. pg-boss: WORKERS
 * `work()` loops with `batchSize` = CONCURRENCY / WORKERS and the minimum
 * polling interval (0.5 s), as its docs advise for throughput (a worker
 * fetches a batch, runs the handler over it, completes it, and waits out the
 * polling interval unless the round took longer). Runs alternate Sluice /
 * pg-boss; every figure is the median of RUNS.
 */
import { randomBytes } from 'node:crypto';
import { createTransport } from '@sluice/messaging';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { machineLine, median, writeSection } from './lib/results.js';

const DB = process.env.SLUICE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const N = 20_000;
const PUBLISH_BATCH = 500;
const CONCURRENCY = 1_000;
const WORKERS = 10;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const POOL = 10;
const TIMEOUT_MS = 120_000;

interface Run {
  readonly publishMs: number;
  readonly totalMs: number;
}

/** A small JSON job, the same for both. */
const payload = (i: number) => ({ orderId: `order-${i}`, amount: 4200 + (i % 100), currency: 'EUR' });

async function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function counter(n: number): { hit(): void; readonly done: Promise<void>; readonly count: number } {
  let count = 0;
  let finish!: () => void;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  return {
    hit() {
      if (++count === n) finish();
    },
    done,
    get count() {
      return count;
    },
  };
}

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: DB });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

async function runSluice(asyncSettles: boolean): Promise<Run> {
  const schema = `bench_sluice_${randomBytes(4).toString('hex')}`;
  const transport = await createTransport(
    `${DB}?schema=${schema}&poolSize=${POOL}&asyncSettles=${asyncSettles}`,
  );
  try {
    const topic = 'jobs';
    await transport.declareGroup(topic, 'default');
    const seen = counter(N);
    for (let w = 0; w < WORKERS; w++)
      await transport.consume(
        topic,
        'default',
        async (d) => {
          JSON.parse(new TextDecoder().decode(d.body));
          await d.ack();
          seen.hit();
        },
        { prefetch: CONCURRENCY / WORKERS, leaseMs: 30_000 },
      );
    const enc = new TextEncoder();
    const t0 = performance.now();
    for (let i = 0; i < N; i += PUBLISH_BATCH)
      await transport.publish(
        topic,
        Array.from({ length: Math.min(PUBLISH_BATCH, N - i) }, (_, k) => ({
          id: `job-${i + k}`,
          body: enc.encode(JSON.stringify(payload(i + k))),
        })),
      );
    const t1 = performance.now();
    await withTimeout(seen.done, 'sluice consume');
    const t2 = performance.now();
    return { publishMs: t1 - t0, totalMs: t2 - t0 };
  } finally {
    await transport.close();
    await dropSchema(schema);
  }
}

async function runPgBoss(): Promise<Run> {
  const schema = `bench_pgboss_${randomBytes(4).toString('hex')}`;
  const boss = new PgBoss({
    connectionString: DB,
    schema,
    max: POOL,
    supervise: false,
    schedule: false,
    migrate: true,
  });
  boss.on('error', (e) => console.error('pg-boss error', e));
  await boss.start();
  try {
    const name = 'jobs';
    await boss.createQueue(name);
    const seen = counter(N);
    for (let w = 0; w < WORKERS; w++)
      await boss.work<ReturnType<typeof payload>>(
        name,
        { batchSize: CONCURRENCY / WORKERS, pollingIntervalSeconds: 0.5 },
        async (jobs) => {
          await Promise.all(
            jobs.map(async (job) => {
              JSON.stringify(job.data);
              seen.hit();
            }),
          );
        },
      );
    const t0 = performance.now();
    for (let i = 0; i < N; i += PUBLISH_BATCH)
      await boss.insert(
        Array.from({ length: Math.min(PUBLISH_BATCH, N - i) }, (_, k) => ({ name, data: payload(i + k) })),
      );
    const t1 = performance.now();
    await withTimeout(seen.done, 'pg-boss consume');
    const t2 = performance.now();
    return { publishMs: t1 - t0, totalMs: t2 - t0 };
  } finally {
    await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
    await dropSchema(schema);
  }
}

/** A markdown table laid out as the repository's formatter (Biome) lays it out. */
function markdownTable(header: string[], right: boolean[], rows: string[][]): string {
  const all = [header, ...rows];
  const width = header.map((_, i) => Math.max(3, ...all.map((r) => (r[i] ?? '').length)));
  const cell = (s: string, i: number) =>
    right[i] ? s.padStart(width[i] as number) : s.padEnd(width[i] as number);
  const line = (r: string[]) => `| ${r.map(cell).join(' | ')} |`;
  const rule = width.map((n, i) => (right[i] ? `${'-'.repeat(n - 1)}:` : '-'.repeat(n)));
  return [line(header), `| ${rule.join(' | ')} |`, ...rows.map(line)].join('\n');
}

const rate = (ms: number) => Math.round(N / (ms / 1000));
const fmt = (n: number) => n.toLocaleString('en-US');

async function main(): Promise<void> {
  // One warm-up of each (connections, plans, JIT), not counted.
  await runSluice(false);
  await runSluice(true);
  await runPgBoss();
  const sluice: Run[] = [];
  const fast: Run[] = [];
  const boss: Run[] = [];
  const line = (r: Run) => `${fmt(rate(r.totalMs))} msg/s (publish ${fmt(rate(r.publishMs))}/s)`;
  for (let r = 0; r < RUNS; r++) {
    const s = await runSluice(false);
    const f = await runSluice(true);
    const b = await runPgBoss();
    sluice.push(s);
    fast.push(f);
    boss.push(b);
    console.log(`run ${r + 1}: sluice ${line(s)}, sluice asyncSettles ${line(f)}, pg-boss ${line(b)}`);
  }
  const total = (runs: Run[]) => median(runs.map((r) => rate(r.totalMs)));
  const pub = (runs: Run[]) => median(runs.map((r) => rate(r.publishMs)));
  const [sTotal, fTotal, bTotal] = [total(sluice), total(fast), total(boss)];
  const [sPub, fPub, bPub] = [pub(sluice), pub(fast), pub(boss)];
  console.log(
    `median: sluice ${fmt(sTotal)} msg/s (${(sTotal / bTotal).toFixed(1)}×), asyncSettles ${fmt(fTotal)} msg/s (${(fTotal / bTotal).toFixed(1)}×), pg-boss ${fmt(bTotal)} msg/s`,
  );
  const pgVersion = await (async () => {
    const c = new pg.Client({ connectionString: DB });
    await c.connect();
    try {
      return (
        (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?'
      );
    } finally {
      await c.end();
    }
  })();
  writeSection(
    'messaging-postgres',
    `## messaging-postgres: PostgreSQL transport vs pg-boss 10.4.2

${new Date().toISOString().slice(0, 10)} · \`npm run bench messaging-postgres\` · ${machineLine()} · PostgreSQL ${pgVersion} on loopback (default settings, \`synchronous_commit=on\`), each run in fresh schemas of the same database; other work was running on the machine, so compare the ratios.

Setup: ${fmt(N)} jobs (~70-byte JSON), published in batches of ${PUBLISH_BATCH} (one awaited, committed call each) while the consumers run; a no-op handler (parses the JSON) and completion of every job. Concurrency ${fmt(CONCURRENCY)} jobs in flight: Sluice ${WORKERS} consumers × \`prefetch\` ${CONCURRENCY / WORKERS}, an ack per message (group-committed); pg-boss ${WORKERS} \`work()\` workers × \`batchSize\` ${CONCURRENCY / WORKERS}, \`pollingIntervalSeconds: 0.5\` (its minimum), completion per fetched batch. Pools of ${POOL} connections. Every commit is durable (as in pg-boss), except in the \`asyncSettles=true\` row, where claims and acks commit with \`synchronous_commit=off\` (a database crash may redeliver the last ones, never lose one; publishes stay durable). Medians of ${RUNS} alternating runs after one warm-up each.

${markdownTable(
  ['', 'publish+consume (msg/s)', 'vs pg-boss', 'publishing, while consuming (msg/s)'],
  [false, true, true, true],
  [
    ['Sluice PostgreSQL transport', fmt(sTotal), `**${(sTotal / bTotal).toFixed(1)}×**`, fmt(sPub)],
    ['Sluice, `asyncSettles=true`', fmt(fTotal), `${(fTotal / bTotal).toFixed(1)}×`, fmt(fPub)],
    ['pg-boss 10.4.2', fmt(bTotal), '1×', fmt(bPub)],
  ],
)}

Target: ≥ 3× pg-boss. pg-boss's worker waits out its polling interval after every fetch that took less than it, so it stays near workers × batchSize / 0.5 s whatever the database can do; Sluice's consumers claim again as soon as slots free up and are woken by NOTIFY at commit.`,
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
