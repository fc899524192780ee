// Deadlines, errors, interceptors (auth, tracing, resilience), bad input and
// backpressure, on real grpc-js servers and clients over loopback HTTP/2.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { inventoryV1 } from '@sluice/contracts';
import { SluiceError } from '@sluice/errors';
import {
  circuitBreaker,
  consecutive,
  Deadline,
  pipeline,
  retry,
  timeout,
  withDeadline,
} from '@sluice/resilience';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestSchema } from './gen/google/rpc/error_details_pb.js';
import { StatusSchema } from './gen/google/rpc/status_pb.js';
import {
  bearerAuthInterceptor,
  bearerTokenInterceptor,
  createGrpcChannel,
  createGrpcClient,
  createGrpcServer,
  type GrpcChannel,
  type GrpcServer,
  resilienceInterceptor,
  tracingInterceptor,
} from './index.js';
import { waitFor } from './testing/pushable.test-support.js';
import { produced, sluiceTestImpl, TestService } from './testing/test-service.test-support.js';

const servers: GrpcServer[] = [];
const channels: GrpcChannel[] = [];
async function serve(setup: (s: GrpcServer) => void, options: Parameters<typeof createGrpcServer>[0] = {}) {
  const server = createGrpcServer(options);
  setup(server);
  servers.push(server);
  const port = await server.listen();
  const channel = createGrpcChannel({ address: `127.0.0.1:${port}` });
  channels.push(channel);
  return { port, channel };
}
afterAll(async () => {
  for (const c of channels) c.close();
  await Promise.all(servers.map((s) => s.shutdown(1000)));
});

const inventoryImpl = {
  checkAvailability: (req: inventoryV1.CheckAvailabilityRequest) => ({
    productId: req.productId,
    available: req.quantity <= 5,
    currentStock: 5,
  }),
};

describe('deadline propagation', () => {
  it('sends the caller deadline as grpc-timeout and makes it the handler’s current deadline, minus the overhead downstream', async () => {
    // B reports the deadline it received; A calls B while handling a call, with no deadline of its own.
    const b = await serve((s) => s.add(TestService, sluiceTestImpl));
    const bClient = createGrpcClient(TestService, b.channel, { deadlineOverheadMs: 200 });
    const a = await serve((s) =>
      s.add(TestService, {
        unaryCall: async (_req, ctx) => {
          const downstream = await bClient.unaryCall({});
          return {
            deadlineRemainingMs: downstream.deadlineRemainingMs,
            payload: new TextEncoder().encode(String(Math.round(ctx.deadline?.remaining() ?? -1))),
          };
        },
      }),
    );
    const aClient = createGrpcClient(TestService, a.channel);
    const res = await aClient.unaryCall({}, { timeoutMs: 5_000 });
    const seenByA = Number(new TextDecoder().decode(res.payload));
    const seenByB = Number(res.deadlineRemainingMs);
    expect(seenByA).toBeGreaterThan(0);
    expect(seenByA).toBeLessThanOrEqual(5_000);
    expect(seenByB).toBeGreaterThan(0);
    // B got A's remaining budget less the 200 ms overhead (never more).
    expect(seenByB).toBeLessThanOrEqual(seenByA - 200 + 50);
  });

  it('fails at once without sending when the inherited deadline leaves nothing', async () => {
    const b = await serve((s) => s.add(TestService, sluiceTestImpl));
    const client = createGrpcClient(TestService, b.channel, { deadlineOverheadMs: 1_000 });
    const err = await withDeadline(Deadline.after(500), () => client.unaryCall({})).catch((e) => e);
    expect(err).toMatchObject({ code: 'deadline_exceeded', reason: 'RESILIENCE_DEADLINE_EXCEEDED' });
  });

  it('maps DEADLINE_EXCEEDED from a sleeping server to a retryable deadline_exceeded SluiceError', async () => {
    const b = await serve((s) => s.add(TestService, sluiceTestImpl));
    const client = createGrpcClient(TestService, b.channel);
    const err = await client.unaryCall({ sleepMs: 10_000 }, { timeoutMs: 200 }).catch((e) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect(err).toMatchObject({ code: 'deadline_exceeded', retryable: true });
  });
});

describe('errors', () => {
  it('carries code, reason, violations, metadata and pushback from a SluiceError on the server to the client', async () => {
    const { channel } = await serve((s) =>
      s.add(TestService, {
        unaryCall: () => {
          throw new SluiceError({
            code: 'resource_exhausted',
            reason: 'INVENTORY_BUSY',
            message: 'try later',
            details: { violations: [{ field: 'sku', message: 'hot item' }], metadata: { shard: '7' } },
            retryAfterMs: 1_500,
          });
        },
      }),
    );
    const err = await createGrpcClient(TestService, channel)
      .unaryCall({})
      .catch((e) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect(err.toJSON()).toEqual({
      name: 'SluiceError',
      code: 'resource_exhausted',
      reason: 'INVENTORY_BUSY',
      message: 'try later',
      retryable: true,
      retryAfterMs: 1_500,
      details: { violations: [{ field: 'sku', message: 'hot item' }], metadata: { shard: '7' } },
    });
  });

  it('answers INTERNAL without the message when a handler throws something else', async () => {
    const { channel } = await serve((s) =>
      s.add(TestService, {
        unaryCall: () => {
          throw new Error('db password is hunter2');
        },
      }),
    );
    const err = await createGrpcClient(TestService, channel)
      .unaryCall({})
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'internal', reason: 'GRPC_HANDLER_FAILED', message: 'internal error' });
  });

  it('answers UNIMPLEMENTED for a method with no implementation', async () => {
    const { channel } = await serve((s) => s.add(TestService, {}));
    const err = await createGrpcClient(TestService, channel)
      .emptyCall({})
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'unimplemented', reason: 'GRPC_UNIMPLEMENTED' });
  });
});

describe('interceptors', () => {
  it('bearer auth: no or a wrong token is UNAUTHENTICATED before the handler; the right one is served', async () => {
    let handled = 0;
    const { channel } = await serve(
      (s) =>
        s.add(TestService, {
          emptyCall: () => {
            handled++;
            return {};
          },
        }),
      { interceptors: [bearerAuthInterceptor({ verify: (t) => t === 's3cret' })] },
    );
    const anonymous = createGrpcClient(TestService, channel);
    await expect(anonymous.emptyCall({})).rejects.toMatchObject({
      code: 'unauthenticated',
      reason: 'GRPC_UNAUTHENTICATED',
    });
    const wrong = createGrpcClient(TestService, channel, { interceptors: [bearerTokenInterceptor('nope')] });
    await expect(wrong.emptyCall({})).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(handled).toBe(0);
    const right = createGrpcClient(TestService, channel, {
      interceptors: [bearerTokenInterceptor(() => 's3cret')],
    });
    await right.emptyCall({});
    expect(handled).toBe(1);
  });

  it('resilience: a per-downstream pipeline retries UNAVAILABLE and honours the server’s pushback', async () => {
    let calls = 0;
    const { channel } = await serve((s) =>
      s.add(TestService, {
        emptyCall: () => {
          calls++;
          if (calls < 3)
            throw new SluiceError({ code: 'unavailable', reason: 'TEST_FLAKY', retryAfterMs: 10 });
          return {};
        },
      }),
    );
    const policy = pipeline(circuitBreaker({ strategy: consecutive(10) }), retry({ maxAttempts: 5 }));
    const client = createGrpcClient(TestService, channel, { interceptors: [resilienceInterceptor(policy)] });
    await client.emptyCall({});
    expect(calls).toBe(3);
  });

  it('resilience: a timeout policy cancels the call and the server sees the tighter deadline', async () => {
    const { channel } = await serve((s) => s.add(TestService, sluiceTestImpl));
    const client = createGrpcClient(TestService, channel, {
      interceptors: [resilienceInterceptor(timeout(300))],
    });
    await expect(client.unaryCall({ sleepMs: 10_000 }, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'deadline_exceeded',
    });
    const res = await client.unaryCall({}, { timeoutMs: 10_000 });
    expect(Number(res.deadlineRemainingMs)).toBeLessThanOrEqual(300);
  });

  it('an interceptor may derive a request by spreading it; metadata set earlier still goes out', async () => {
    const { channel } = await serve((s) => s.add(TestService, sluiceTestImpl));
    const client = createGrpcClient(TestService, channel, {
      interceptors: [
        bearerTokenInterceptor('t'),
        (next) => (req) => next({ ...req, deadline: Deadline.after(2_000) }),
      ],
    });
    let header: Headers | undefined;
    await client.unaryCall(
      {},
      { headers: { 'x-grpc-test-echo-initial': 'kept' }, onHeader: (h) => (header = h) },
    );
    expect(header?.get('x-grpc-test-echo-initial')).toBe('kept');
  });

  describe('tracing', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const contextManager = new AsyncLocalStorageContextManager();
    beforeAll(() => {
      context.setGlobalContextManager(contextManager.enable());
    });
    afterEach(() => exporter.reset());
    afterAll(() => {
      context.disable();
    });

    it('one trace runs client → server A → server B, with traceparent in metadata', async () => {
      const tracer = provider.getTracer('test');
      const interceptors = [tracingInterceptor({ tracer })];
      let traceparentAtB: string | null = null;
      const b = await serve(
        (s) =>
          s.add(TestService, {
            emptyCall: (_req, ctx) => {
              traceparentAtB = ctx.requestHeader.get('traceparent');
              return {};
            },
          }),
        { interceptors },
      );
      const bClient = createGrpcClient(TestService, b.channel, { interceptors });
      const a = await serve(
        (s) =>
          s.add(TestService, {
            emptyCall: async () => {
              await bClient.emptyCall({});
              return {};
            },
          }),
        { interceptors },
      );
      const aClient = createGrpcClient(TestService, a.channel, { interceptors });
      await tracer.startActiveSpan('root', async (root) => {
        await aClient.emptyCall({});
        root.end();
      });
      await provider.forceFlush();
      const spans = exporter.getFinishedSpans();
      expect(spans).toHaveLength(5);
      const traceIds = new Set(spans.map((s) => s.spanContext().traceId));
      expect(traceIds.size).toBe(1);
      const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
      const chain = (s: (typeof spans)[number]): string[] => {
        const parent = s.parentSpanContext?.spanId;
        const p = parent ? byId.get(parent) : undefined;
        return p ? [...chain(p), `${s.kind}:${s.name}`] : [`${s.kind}:${s.name}`];
      };
      const deepest = spans.find((s) => s.kind === 1 && chain(s).length === 5);
      expect(deepest && chain(deepest)).toEqual([
        '0:root',
        '2:sluice.grpc.testing.v1.TestService/EmptyCall',
        '1:sluice.grpc.testing.v1.TestService/EmptyCall',
        '2:sluice.grpc.testing.v1.TestService/EmptyCall',
        '1:sluice.grpc.testing.v1.TestService/EmptyCall',
      ]);
      expect(traceparentAtB).toMatch(new RegExp(`^00-${[...traceIds][0]}-[0-9a-f]{16}-01$`));
      expect(trace.getActiveSpan()).toBeUndefined();
    });
  });
});

describe('bad input', () => {
  let port: number;
  let raw: grpc.Client;
  beforeAll(async () => {
    ({ port } = await serve((s) => s.add(inventoryV1.InventoryService, inventoryImpl)));
    raw = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  afterAll(() => raw.close());
  const send = (bytes: Uint8Array) =>
    new Promise<{ code: number; err?: grpc.ServiceError }>((resolve) => {
      raw.makeUnaryRequest(
        '/sluice.inventory.v1.InventoryService/CheckAvailability',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(bytes),
        (err) => resolve(err ? { code: err.code, err } : { code: 0 }),
      );
    });
  const violations = (err: grpc.ServiceError) => {
    const status = fromBinary(StatusSchema, err.metadata.get('grpc-status-details-bin')[0] as Buffer);
    const bad = status.details.map((d) => anyUnpack(d, BadRequestSchema)).find((x) => x !== undefined);
    return bad?.fieldViolations.map((v) => v.field) ?? [];
  };

  it('invalid protobuf bytes answer INVALID_ARGUMENT with a field detail', async () => {
    const r = await send(Uint8Array.from([0x0a, 0xff, 0xff]));
    expect(r.code).toBe(3);
    expect(violations(r.err as grpc.ServiceError)).toEqual(['(message)']);
    expect(r.err?.metadata.get('sluice-reason')).toEqual(['CONTRACTS_INVALID_PROTOBUF']);
  });

  it('violated fields answer INVALID_ARGUMENT listing every field, and the handler never runs', async () => {
    const bytes = toBinary(
      inventoryV1.CheckAvailabilityRequestSchema,
      create(inventoryV1.CheckAvailabilityRequestSchema, { productId: '', quantity: 0 }),
    );
    const r = await send(bytes);
    expect(r.code).toBe(3);
    expect(violations(r.err as grpc.ServiceError)).toEqual(['product_id', 'quantity']);
  });

  it('a malformed message in the middle of a client stream ends the call with INVALID_ARGUMENT', async () => {
    const { port: p } = await serve((s) => s.add(TestService, sluiceTestImpl));
    const client = new grpc.Client(`127.0.0.1:${p}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.makeClientStreamRequest(
        '/sluice.grpc.testing.v1.TestService/StreamingInputCall',
        (b: Buffer) => b,
        (b: Buffer) => b,
        (e) => resolve(e),
      );
      call.write(Buffer.from([0x0a, 0x01, 0x41])); // payload: 1 byte
      call.write(Buffer.from([0x0a, 0x7f])); // truncated
      call.end();
    });
    client.close();
    expect(err?.code).toBe(3);
    expect(err?.metadata.get('sluice-reason')).toEqual(['CONTRACTS_INVALID_PROTOBUF']);
  });

  it('random bytes get OK or INVALID_ARGUMENT, never anything else, and the server keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (bytes) => {
        const r = await send(bytes);
        expect([0, 3]).toContain(r.code);
      }),
      { numRuns: 200 },
    );
    const ok = await send(
      toBinary(
        inventoryV1.CheckAvailabilityRequestSchema,
        create(inventoryV1.CheckAvailabilityRequestSchema, { productId: 'sku-1', quantity: 2 }),
      ),
    );
    expect(ok.code).toBe(0);
  });
});

describe('streams', () => {
  it('a slow reader of a server stream keeps the server’s buffered messages bounded (backpressure)', async () => {
    const { channel } = await serve((s) => s.add(TestService, sluiceTestImpl));
    const client = createGrpcClient(TestService, channel);
    produced.count = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    let read = 0;
    const samples: number[] = [];
    for await (const _m of client.streamingOutputCall({ endless: true })) {
      read++;
      await new Promise((r) => setTimeout(r, 5)); // a deliberately slow reader
      if (read % 20 === 0) samples.push(produced.count - read);
      if (read === 200) break; // breaking out cancels the call
    }
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    // Produced-but-unread messages (1 KiB each) stay within HTTP/2 flow-control
    // windows plus stream buffers: a bounded number, not growing with time.
    const maxBuffered = Math.max(...samples);
    expect(maxBuffered).toBeLessThan(1_000);
    const late = samples.slice(-3);
    expect(Math.max(...late)).toBeLessThanOrEqual(maxBuffered);
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    // The server stops producing once the reader goes away.
    await waitFor(async () => {
      const before = produced.count;
      await new Promise((r) => setTimeout(r, 100));
      return produced.count === before;
    });
  });

  it('the client signal cancels a server stream mid-way', async () => {
    const { channel } = await serve((s) => s.add(TestService, sluiceTestImpl));
    const client = createGrpcClient(TestService, channel);
    const controller = new AbortController();
    const got: number[] = [];
    const err = await (async () => {
      for await (const m of client.streamingOutputCall(
        { responseSizes: [1, 2, 3], sleepAfterFirstMs: 10_000 },
        { signal: controller.signal },
      )) {
        got.push(m.payload.length);
        controller.abort();
      }
    })().catch((e) => e);
    expect(got).toEqual([1]);
    expect(err).toMatchObject({ code: 'cancelled' });
  });
});
