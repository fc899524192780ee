/**
 * `npm run bench http`: REST on loopback.
 *
 * 1. Server: autocannon (50 connections, POST with a JSON body validated by
 *    a schema) against bare Fastify and against `createHttpServer` with
 *    every Sluice plugin (request context + deadline + tracing API,
 *    problem+json, health, OpenAPI, idempotency plugin registered) — and
 *    once more with the route opted into idempotency (a fresh key per
 *    request, memory store). Each server runs in its own child process.
 * 2. Client: a bare undici Pool vs `createHttpClient` (plain, and with
 *    `resilience: true`), 64 requests in flight against one bare Fastify
 *    child, a fixed number of requests per run; requests/s and client CPU
 *    per request.
 *
 * Medians of 5 runs per variant, variants interleaved, ratios within the run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Type } from '@fastify/type-provider-typebox';
import { createHttpClient, createHttpServer, createMemoryIdempotencyStore } from '@sluice/http';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { Pool } from 'undici';
import { machineLine, median, writeSection } from './lib/results.js';

const RUNS = 7;
const SERVER_SECONDS = 2;
const CONNECTIONS = 50;
const CLIENT_REQUESTS = 12_000;
const IN_FLIGHT = 64;
const BODY = JSON.stringify({ customerId: 'c-1', items: [{ productId: 'sku-1', quantity: 2 }] });

const OrderSchema = Type.Object(
  {
    customerId: Type.String({ minLength: 1 }),
    items: Type.Array(
      Type.Object({ productId: Type.String({ minLength: 1 }), quantity: Type.Integer({ minimum: 1 }) }),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

type Variant = 'bare' | 'sluice' | 'sluice-no-async-context' | 'sluice-idempotent';

/** Child mode: serve one variant on an ephemeral port, print it, run until killed. */
async function serve(variant: Variant): Promise<void> {
  let n = 0;
  if (variant === 'bare') {
    const app = Fastify();
    app.post('/orders', { schema: { body: OrderSchema } }, async (_request, reply) =>
      reply.code(201).send({ id: `o-${++n}` }),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    console.log(`PORT ${(app.server.address() as { port: number }).port}`);
    return;
  }
  const app = await createHttpServer({
    idempotency: { store: createMemoryIdempotencyStore() },
    asyncContext: variant !== 'sluice-no-async-context',
  });
  app.post(
    '/orders',
    { schema: { body: OrderSchema }, config: { idempotency: variant === 'sluice-idempotent' } },
    async (_request, reply) => reply.code(201).send({ id: `o-${++n}` }),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(`PORT ${(app.server.address() as { port: number }).port}`);
}

async function startChild(variant: Variant): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=sluice-source', '--import', 'tsx', fileURLToPath(import.meta.url), 'serve', variant],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  for await (const chunk of child.stdout as NodeJS.ReadableStream) {
    out += String(chunk);
    const m = /PORT (\d+)/.exec(out);
    if (m) return { child, origin: `http://127.0.0.1:${m[1]}` };
  }
  throw new Error(`server ${variant} did not start`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  if (child.exitCode === null) await once(child, 'exit');
}

/** CPU time a process has used so far, in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After "pid (comm) ": state is field 0, utime field 11, stime field 12.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface ServerRun {
  rps: number;
  /** Server process CPU per request, µs. */
  cpuUs: number;
  p50: number;
  p99: number;
  errors: number;
}

async function cannon(
  server: { child: ChildProcess; origin: string },
  variant: Variant,
  seconds: number,
): Promise<ServerRun> {
  const origin = server.origin;
  const pid = server.child.pid as number;
  const cpu0 = cpuMs(pid);
  let key = 0;
  const result = await autocannon({
    url: `${origin}/orders`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: BODY,
        ...(variant === 'sluice-idempotent'
          ? {
              setupRequest: (req: autocannon.Request) => ({
                ...req,
                headers: { ...req.headers, 'idempotency-key': `"k-${++key}"` },
              }),
            }
          : {}),
      },
    ],
  });
  return {
    rps: result.requests.average,
    cpuUs: ((cpuMs(pid) - cpu0) * 1000) / Math.max(1, result.requests.total),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

type ClientVariant = 'undici Pool' | 'sluice client' | 'sluice client + resilience';

async function clientRun(origin: string, variant: ClientVariant): Promise<{ rps: number; cpuUs: number }> {
  let call: () => Promise<unknown>;
  let close: () => Promise<void>;
  if (variant === 'undici Pool') {
    const pool = new Pool(origin, { connections: IN_FLIGHT, pipelining: 1 });
    call = async () => {
      const res = await pool.request({
        method: 'POST',
        path: '/orders',
        headers: { 'content-type': 'application/json' },
        body: BODY,
      });
      const body = await res.body.json();
      if (res.statusCode !== 201) throw new Error(`status ${res.statusCode}`);
      return body;
    };
    close = () => pool.close();
  } else {
    const client = createHttpClient({
      origin,
      caller: 'bench',
      connections: IN_FLIGHT,
      resilience: variant === 'sluice client + resilience',
    });
    const body = JSON.parse(BODY) as unknown;
    call = () => client.post('/orders', body);
    close = () => client.close();
  }
  // Warm the connections up, then measure a fixed number of requests.
  await Promise.all(Array.from({ length: IN_FLIGHT }, () => call()));
  let started = 0;
  const worker = async () => {
    while (started < CLIENT_REQUESTS) {
      started++;
      await call();
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await close();
  return { rps: CLIENT_REQUESTS / seconds, cpuUs: (cpu.user + cpu.system) / CLIENT_REQUESTS };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  // --- Servers
  const serverVariants: Variant[] = ['bare', 'sluice', 'sluice-no-async-context', 'sluice-idempotent'];
  const serverRuns = new Map<Variant, ServerRun[]>(serverVariants.map((v) => [v, []]));
  // Every server is started once and warmed up (JIT), then the runs interleave.
  const servers = new Map<Variant, { child: ChildProcess; origin: string }>();
  for (const v of serverVariants) {
    const s = await startChild(v);
    servers.set(v, s);
    await cannon(s, v, 1);
  }
  for (let run = 0; run < RUNS; run++) {
    for (const v of serverVariants) {
      const r = await cannon(servers.get(v) as { child: ChildProcess; origin: string }, v, SERVER_SECONDS);
      serverRuns.get(v)?.push(r);
      console.log(
        `server ${v} run ${run + 1}: ${fmt(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors ${r.errors}`,
      );
    }
  }
  for (const { child } of servers.values()) await stopChild(child);
  const srv = (v: Variant) => {
    const runs = serverRuns.get(v) ?? [];
    return {
      rps: median(runs.map((r) => r.rps)),
      cpuUs: median(runs.map((r) => r.cpuUs)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      errors: runs.reduce((a, r) => a + r.errors, 0),
    };
  };

  // --- Clients (one bare Fastify child serves them all)
  const clientVariants: ClientVariant[] = ['undici Pool', 'sluice client', 'sluice client + resilience'];
  const clientRuns = new Map<ClientVariant, { rps: number; cpuUs: number }[]>(
    clientVariants.map((v) => [v, []]),
  );
  const { child, origin } = await startChild('bare');
  for (const v of clientVariants) await clientRun(origin, v); // warm-up
  for (let run = 0; run < RUNS; run++) {
    for (const v of clientVariants) {
      const r = await clientRun(origin, v);
      clientRuns.get(v)?.push(r);
      console.log(`client ${v} run ${run + 1}: ${fmt(r.rps)} req/s, ${fmt(r.cpuUs, 1)} µs CPU/request`);
    }
  }
  await stopChild(child);
  const cli = (v: ClientVariant) => {
    const runs = clientRuns.get(v) ?? [];
    return { rps: median(runs.map((r) => r.rps)), cpuUs: median(runs.map((r) => r.cpuUs)) };
  };

  const bare = srv('bare');
  const ours = srv('sluice');
  const idem = srv('sluice-idempotent');
  const noAls = srv('sluice-no-async-context');
  const pool = cli('undici Pool');
  const client = cli('sluice client');
  const resilient = cli('sluice client + resilience');
  // Ratios are medians of per-run ratios: each run of a variant is paired
  // with the peer's run just before it, so slow swings of the machine's load
  // cancel out instead of landing on one variant.
  const paired = (a: readonly number[], b: readonly number[]) =>
    fmt(median(a.map((x, i) => x / (b[i] as number))), 2);
  const sRuns = (v: Variant, f: 'rps' | 'cpuUs') => (serverRuns.get(v) ?? []).map((r) => r[f]);
  const cRuns = (v: ClientVariant, f: 'rps' | 'cpuUs') => (clientRuns.get(v) ?? []).map((r) => r[f]);
  const verdict = (rps: string, cpu: string) =>
    Number(rps) >= 0.85 && Number(cpu) >= 0.85
      ? '**met**'
      : Number(rps) >= 0.85
        ? '**met on throughput, missed on CPU per request**'
        : '**missed**';
  const sRps = (v: Variant) => paired(sRuns(v, 'rps'), sRuns('bare', 'rps'));
  const sCpu = (v: Variant) => paired(sRuns('bare', 'cpuUs'), sRuns(v, 'cpuUs'));
  const cRps = (v: ClientVariant) => paired(cRuns(v, 'rps'), cRuns('undici Pool', 'rps'));
  const cCpu = (v: ClientVariant) => paired(cRuns('undici Pool', 'cpuUs'), cRuns(v, 'cpuUs'));

  const md = `## HTTP (REST): \`bench/http.bench.ts\`

${new Date().toISOString().slice(0, 10)} · \`npm run bench http\` · ${machineLine()} · loopback, every server in its own child process, medians of ${RUNS} runs per variant (variants interleaved); each ratio is the median of per-run ratios against the peer's run just before. The machine is shared with other work (load average ${(os.loadavg()[0] ?? 0).toFixed(1)} on 2 cores when the run ended), so absolute figures are noisy; the ratios are the result.

**Server** — autocannon, ${CONNECTIONS} connections, ${SERVER_SECONDS} s per run, \`POST /orders\` with a JSON body checked against a schema, answering 201 + JSON.

| server | req/s | vs bare | server CPU µs/request | CPU efficiency vs bare | p50 ms | p99 ms | non-2xx/errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| bare Fastify 5 (Ajv) | ${fmt(bare.rps)} | 1.00× | ${fmt(bare.cpuUs, 1)} | 1.00× | ${bare.p50} | ${bare.p99} | ${bare.errors} |
| \`createHttpServer\`, all plugins | ${fmt(ours.rps)} | **${sRps('sluice')}×** | ${fmt(ours.cpuUs, 1)} | **${sCpu('sluice')}×** | ${ours.p50} | ${ours.p99} | ${ours.errors} |
| same, \`asyncContext: false\` (no AsyncLocalStorage) | ${fmt(noAls.rps)} | ${sRps('sluice-no-async-context')}× | ${fmt(noAls.cpuUs, 1)} | ${sCpu('sluice-no-async-context')}× | ${noAls.p50} | ${noAls.p99} | ${noAls.errors} |
| all plugins, route with \`Idempotency-Key\` (new key per request, memory store) | ${fmt(idem.rps)} | ${sRps('sluice-idempotent')}× | ${fmt(idem.cpuUs, 1)} | ${sCpu('sluice-idempotent')}× | ${idem.p50} | ${idem.p99} | ${idem.errors} |

**Client** — ${fmt(CLIENT_REQUESTS)} POSTs per run, ${IN_FLIGHT} in flight, against one bare Fastify child; CPU is the client process's (user + system) per request.

| client | req/s | vs undici Pool | client CPU µs/request | CPU efficiency vs undici Pool |
| --- | ---: | ---: | ---: | ---: |
| bare undici \`Pool.request\` + \`body.json()\` | ${fmt(pool.rps)} | 1.00× | ${fmt(pool.cpuUs, 1)} | 1.00× |
| \`createHttpClient\` (timeout, deadline header, request id, caller, traceparent, client span) | ${fmt(client.rps)} | **${cRps('sluice client')}×** | ${fmt(client.cpuUs, 1)} | **${cCpu('sluice client')}×** |
| \`createHttpClient({ resilience: true })\` (+ bulkhead, breaker, retry + budget) | ${fmt(resilient.rps)} | ${cRps('sluice client + resilience')}× | ${fmt(resilient.cpuUs, 1)} | ${cCpu('sluice client + resilience')}× |

Target ≥ 0.85× bare for the server with all plugins and for the client: ${verdict(sRps('sluice'), sCpu('sluice'))} for the server, ${verdict(cRps('sluice client'), cCpu('sluice client'))} for the client. Req/s on this shared 2-core machine (autocannon, the server and other jobs compete) swings with the load; CPU per request (each process's own, from /proc and \`process.cpuUsage\`) is the steadier measure: the server spends ${fmt(ours.cpuUs - bare.cpuUs, 1)} µs more per request than bare Fastify, the client ${fmt(client.cpuUs - pool.cpuUs, 1)} µs more than a bare Pool. Where that goes, from CPU profiles of the same route: on the server, the per-request hooks (request id generation and echo, caller, deadline parse, entering the request scope before and again after body parsing) and AsyncLocalStorage itself (the \`asyncContext: false\` row differs by ${fmt(ours.cpuUs - noAls.cpuUs, 1)} µs in this run; on Node 20 AsyncLocalStorage runs on async_hooks, whose promise hook taxes every promise of the process; runs on this machine have put it anywhere from 2 to 11 µs per request), and a no-op span through the OpenTelemetry API (without an SDK it adds no listener and no context switch). On the client: the three extra headers (request id, caller, deadline) that undici validates and writes, the timeout policy's bookkeeping, a no-op span and \`traceparent\` injection, and response text + \`JSON.parse\`; no AbortSignal is handed to undici unless the caller passes one (an AbortSignal per request cost undici ~15 µs of CPU here, half a bare request). An idempotent route adds canonical JSON + SHA-256 of the payload (~10 µs in profiles), two store calls and three async route hooks per request, and garbage collection of the stored responses (a 24 h TTL keeps every one); in that row autocannon also rebuilds every request (\`setupRequest\`, a fresh key each), which loads the shared cores.
`;
  writeSection('http', md);
  console.log(md);
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3] as Variant);
} else {
  await main();
}
