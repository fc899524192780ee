/**
 * `npm run bench shop`: the whole shop as `npm start` runs it (every service
 * its own process, embedded SQLite databases and bus), driven through the
 * gateway by the `sluice load` engine (open loop, good orders only), at a
 * ladder of rates. Reports, per rate, the orders/s that completed and the
 * latency placed → confirmed (p50/p99), medians of RUNS runs. Every run is
 * bounded (rate × duration orders).
 */
import os from 'node:os';
import { DEFAULT_MIX, GatewayClient, orderScenarios, runLoad, ShopApi } from '@sluice/cli';
import { startShop } from '../test/shop/shop-harness.js';
import { machineLine, median, writeSection } from './lib/results.js';

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const RATES = (process.env.BENCH_RATES ?? '50,100,150').split(',').map(Number);
const CONCURRENCY = 256;

const shop = await startShop({ LOG_LEVEL: 'error' });
const started = new Date();
const rows: string[] = [];
try {
  const api = new ShopApi(new GatewayClient({ url: shop.urls.gateway, token: shop.token, connections: 128 }));
  const run = orderScenarios(api);
  // Warm-up: JIT, connection pools, SQLite caches.
  await runLoad({
    rate: 20,
    durationMs: 2_000,
    concurrency: 32,
    mix: { ...DEFAULT_MIX, 'out-of-stock': 0 },
    run,
  });
  for (const rate of RATES) {
    const results = [];
    for (let i = 0; i < RUNS; i++) {
      results.push(
        await runLoad({
          rate,
          durationMs: DURATION_MS,
          concurrency: CONCURRENCY,
          mix: { good: 1, 'out-of-stock': 0, 'declined-card': 0, 'duplicate-request': 0 },
          run,
        }),
      );
    }
    const confirmed = median(results.map((r) => ((r.outcomes.confirmed ?? 0) * 1000) / r.elapsedMs));
    const other = results.flatMap((r) => Object.keys(r.outcomes).filter((k) => k !== 'confirmed'));
    const row = `| ${rate} | ${confirmed.toFixed(0)} | ${median(results.map((r) => r.latency.p50)).toFixed(0)} | ${median(results.map((r) => r.latency.p99)).toFixed(0)} | ${other.length ? [...new Set(other)].join(', ') : 'none'} |`;
    rows.push(row);
    console.log(row);
  }
  await api.gateway.close();
} finally {
  await shop.stop();
}

writeSection(
  'shop',
  `## shop — orders placed → confirmed through the gateway, all services as processes

${started.toISOString().slice(0, 10)} · \`npm run bench shop\` · ${machineLine()}.

Setup: \`npm start\`'s supervisor with the embedded defaults (each service's own SQLite file, WAL,
\`synchronous=NORMAL\`; the embedded bus), orchestration mode, log level error. Load: the \`sluice load\` engine
in this process (open loop, at most ${CONCURRENCY} in flight), good orders only (one line, \`tok_ok\`),
${DURATION_MS / 1000} s per run, ${RUNS} runs per rate, medians; each order is followed (GET with backoff)
until it ends, and its latency runs from its scheduled start to that moment.
Load average when the suite ended: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')}.

| offered orders/s | confirmed orders/s | p50 ms | p99 ms | other outcomes |
| ---------------: | -----------------: | -----: | -----: | -------------- |
${rows.join('\n')}

Target (issue 7): ≥ 500 orders/s with p99 ≤ 250 ms on this 2-core machine.`,
);
