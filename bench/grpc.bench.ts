/**
 * `npm run bench grpc`: unary requests/s and p50/p99 through @sluice/grpc's
 * client + server (tracing interceptor with the OpenTelemetry API, a
 * resilience pipeline, a deadline on every call, request validation) against
 * raw grpc-js with the same protobuf-es messages, at 1 and 64 calls in
 * flight; and one server-streaming throughput figure. Loopback, one process.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { inventoryV1 } from '@sluice/contracts';
import {
  createGrpcChannel,
  createGrpcClient,
  createGrpcServer,
  resilienceInterceptor,
  tracingInterceptor,
} from '@sluice/grpc';
import { circuitBreaker, pipeline, retry } from '@sluice/resilience';
import { machineLine, median, percentile, writeSection } from './lib/results.js';

const { InventoryService, CheckAvailabilityRequestSchema, CheckAvailabilityResponseSchema } = inventoryV1;
const { WatchInventoryRequestSchema, WatchInventoryResponseSchema } = inventoryV1;
const RUNS = 5;
const STREAM_MESSAGES = 50_000;

// ---- ours
const server = createGrpcServer({ interceptors: [tracingInterceptor()] });
server.add(InventoryService, {
  checkAvailability: (req) => ({ productId: req.productId, available: true, currentStock: 42 }),
  async *watchInventory() {
    for (let i = 0; i < STREAM_MESSAGES; i++) yield { productId: 'sku-1', availableStock: i };
  },
});
const ourPort = await server.listen();
const channel = createGrpcChannel({ address: `127.0.0.1:${ourPort}` });
const ours = createGrpcClient(InventoryService, channel, {
  interceptors: [
    tracingInterceptor(),
    resilienceInterceptor(pipeline(circuitBreaker(), retry({ maxAttempts: 3 }))),
  ],
});

// ---- raw grpc-js, same messages (protobuf-es serializers), no interceptors
const ser = (schema: Parameters<typeof toBinary>[0]) => (m: unknown) =>
  Buffer.from(toBinary(schema, m as never));
const de = (schema: Parameters<typeof fromBinary>[0]) => (b: Buffer) => fromBinary(schema, b);
const definition: grpc.ServiceDefinition = {
  CheckAvailability: {
    path: '/sluice.inventory.v1.InventoryService/CheckAvailability',
    requestStream: false,
    responseStream: false,
    requestSerialize: ser(CheckAvailabilityRequestSchema),
    requestDeserialize: de(CheckAvailabilityRequestSchema),
    responseSerialize: ser(CheckAvailabilityResponseSchema),
    responseDeserialize: de(CheckAvailabilityResponseSchema),
  },
  WatchInventory: {
    path: '/sluice.inventory.v1.InventoryService/WatchInventory',
    requestStream: false,
    responseStream: true,
    requestSerialize: ser(WatchInventoryRequestSchema),
    requestDeserialize: de(WatchInventoryRequestSchema),
    responseSerialize: ser(WatchInventoryResponseSchema),
    responseDeserialize: de(WatchInventoryResponseSchema),
  },
};
const rawServer = new grpc.Server();
rawServer.addService(definition, {
  // biome-ignore lint/suspicious/noExplicitAny: raw grpc-js handlers are untyped
  CheckAvailability: (call: any, cb: any) =>
    cb(
      null,
      create(CheckAvailabilityResponseSchema, {
        productId: call.request.productId,
        available: true,
        currentStock: 42,
      }),
    ),
  // biome-ignore lint/suspicious/noExplicitAny: raw grpc-js handlers are untyped
  WatchInventory: async (call: any) => {
    for (let i = 0; i < STREAM_MESSAGES; i++) {
      if (!call.write(create(WatchInventoryResponseSchema, { productId: 'sku-1', availableStock: i }))) {
        await new Promise((r) => call.once('drain', r));
      }
    }
    call.end();
  },
});
const rawPort = await new Promise<number>((resolve, reject) =>
  rawServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
    e ? reject(e) : resolve(p),
  ),
);
const RawClient = grpc.makeGenericClientConstructor(definition, 'InventoryService');
// biome-ignore lint/suspicious/noExplicitAny: raw grpc-js client is untyped
const raw: any = new RawClient(`127.0.0.1:${rawPort}`, grpc.credentials.createInsecure());

const request = create(CheckAvailabilityRequestSchema, { productId: 'sku-1', quantity: 2 });
const callOurs = () => ours.checkAvailability(request, { timeoutMs: 5_000 });
const callRaw = () =>
  new Promise((resolve, reject) =>
    raw.CheckAvailability(request, { deadline: Date.now() + 5_000 }, (e: unknown, v: unknown) =>
      e ? reject(e) : resolve(v),
    ),
  );

interface Run {
  rps: number;
  p50: number;
  p99: number;
}

/** `total` calls with `inFlight` concurrent workers; latencies in ms. */
async function unaryRun(call: () => Promise<unknown>, inFlight: number, total: number): Promise<Run> {
  const lat: number[] = [];
  let started = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < total) {
      started++;
      const s = performance.now();
      await call();
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const secs = (performance.now() - t0) / 1000;
  return { rps: total / secs, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

async function streamOurs(): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for await (const _ of ours.watchInventory({ productIds: [] }, { timeoutMs: 60_000 })) n++;
  return n / ((performance.now() - t0) / 1000);
}
async function streamRaw(): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for await (const _ of raw.WatchInventory(create(WatchInventoryRequestSchema, {}))) n++;
  return n / ((performance.now() - t0) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rows: string[] = [];
// Warm up both paths (JIT, connections).
await unaryRun(callOurs, 16, 2_000);
await unaryRun(callRaw, 16, 2_000);

for (const [inFlight, total] of [
  [1, 2_000],
  [64, 12_000],
] as const) {
  const o: Run[] = [];
  const r: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order so drift on a shared machine hits both alike.
    if (i % 2 === 0) {
      o.push(await unaryRun(callOurs, inFlight, total));
      r.push(await unaryRun(callRaw, inFlight, total));
    } else {
      r.push(await unaryRun(callRaw, inFlight, total));
      o.push(await unaryRun(callOurs, inFlight, total));
    }
  }
  const m = (xs: Run[], k: keyof Run) => median(xs.map((x) => x[k]));
  const ratio = m(o, 'rps') / m(r, 'rps');
  console.log(
    `unary ${inFlight} in flight: ours ${fmt(m(o, 'rps'))} req/s, raw ${fmt(m(r, 'rps'))} req/s, ratio ${ratio.toFixed(2)}`,
  );
  rows.push(
    `| unary, ${inFlight} in flight | ${fmt(m(o, 'rps'))} req/s (p50 ${m(o, 'p50').toFixed(2)} ms, p99 ${m(o, 'p99').toFixed(2)} ms) | ${fmt(m(r, 'rps'))} req/s (p50 ${m(r, 'p50').toFixed(2)} ms, p99 ${m(r, 'p99').toFixed(2)} ms) | ${ratio.toFixed(2)}× |`,
  );
}
{
  const o: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    o.push(await streamOurs());
    r.push(await streamRaw());
  }
  const ratio = median(o) / median(r);
  console.log(
    `server streaming: ours ${fmt(median(o))} msg/s, raw ${fmt(median(r))} msg/s, ratio ${ratio.toFixed(2)}`,
  );
  rows.push(
    `| server streaming (${fmt(STREAM_MESSAGES)} messages) | ${fmt(median(o))} msg/s | ${fmt(median(r))} msg/s | ${ratio.toFixed(2)}× |`,
  );
}

writeSection(
  'grpc',
  `## gRPC: @sluice/grpc vs raw grpc-js

${new Date().toISOString().slice(0, 10)} · \`npm run bench grpc\` · ${machineLine()}

Setup: one process, loopback HTTP/2 (h2c). Ours: \`createGrpcServer\` with \`tracingInterceptor()\` and the
contracts' request validation; \`createGrpcClient\` with \`tracingInterceptor()\` and
\`resilienceInterceptor(pipeline(circuitBreaker(), retry({ maxAttempts: 3 })))\`, a 5 s deadline on every call
(\`grpc-timeout\`, then the server's current deadline). The OpenTelemetry API is on with no SDK registered (no-op
spans). Raw: grpc-js \`makeGenericClientConstructor\` + \`Server.addService\` with protobuf-es serializers and a
deadline on every call. Message: \`inventory.v1.CheckAvailability\`. Medians of ${RUNS} runs (2 000 calls at 1
in flight, 12 000 at 64), runs alternated; ratio = ours / raw. Target ≥ 0.9×.

| case | ours | raw grpc-js | ratio |
|---|---|---|---|
${rows.join('\n')}
`,
);

channel.close();
raw.close();
await server.shutdown(1000);
rawServer.forceShutdown();
