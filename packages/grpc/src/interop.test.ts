// Interop with stock peers, both directions, over real HTTP/2 on loopback:
// the gRPC interop cases (grpc/grpc doc/interop-test-descriptions.md).
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create, fromBinary } from '@bufbuild/protobuf';
import { ConnectError, createClient } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import { grpcStatusOf, isSluiceError } from '@sluice/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from './gen/google/rpc/error_details_pb.js';
import { StatusSchema } from './gen/google/rpc/status_pb.js';
import {
  EmptyCallRequestSchema,
  FullDuplexCallRequestSchema,
  StreamingInputCallRequestSchema,
  StreamingOutputCallRequestSchema,
  UnaryCallRequestSchema,
} from './gen/sluice/grpc/testing/v1/test_pb.js';
import {
  bindService,
  createConnectHandler,
  createGrpcChannel,
  createGrpcClient,
  createGrpcServer,
  type GrpcClient,
} from './index.js';
import { pushable } from './testing/pushable.test-support.js';
import {
  ECHO_INITIAL,
  ECHO_TRAILING,
  sluiceTestImpl,
  startStockConnectServer,
  startStockGrpcServer,
  stockGrpcClient,
  TestService,
} from './testing/test-service.test-support.js';

type TestClient = GrpcClient<typeof TestService>;

/** An error from any client, reduced to what the interop cases check. */
interface Seen {
  code: number;
  message: string;
  reason: string | undefined;
  fields: string[];
  retryAfterMs: number | undefined;
}

function seen(e: unknown): Seen {
  if (isSluiceError(e)) {
    return {
      code: grpcStatusOf(e.code),
      message: e.message,
      reason: e.reason,
      fields: e.violations.map((v) => v.field),
      retryAfterMs: e.retryAfterMs,
    };
  }
  if (e instanceof ConnectError) {
    const pushback = e.metadata.get('grpc-retry-pushback-ms');
    const retry = e.findDetails(RetryInfoSchema)[0]?.retryDelay;
    return {
      code: e.code,
      message: e.rawMessage,
      reason: e.findDetails(ErrorInfoSchema)[0]?.reason,
      fields: e.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field) ?? [],
      retryAfterMs: pushback
        ? Number(pushback)
        : retry
          ? Number(retry.seconds) * 1000 + retry.nanos / 1e6
          : undefined,
    };
  }
  throw e;
}

async function failure(p: Promise<unknown> | (() => Promise<unknown>)): Promise<Seen> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return seen(e);
  }
  throw new Error('expected the call to fail');
}

const SIZES = [31415, 9, 2653, 58979];
const TRAILING_B64 = Buffer.from([0xab, 0xab, 0xab]).toString('base64');

interface Direction {
  name: string;
  start(): Promise<{ client: TestClient; close(): void }>;
}

/** Our servers, started once: grpc-js and the Connect edge (h2c). */
async function sluiceServers() {
  const grpcServer = createGrpcServer({ services: [bindService(TestService, sluiceTestImpl)] });
  const grpcPort = await grpcServer.listen();
  const edge = http2.createServer(
    createConnectHandler({ services: [bindService(TestService, sluiceTestImpl)] }),
  );
  edge.listen(0, '127.0.0.1');
  await once(edge, 'listening');
  return {
    grpcPort,
    edgePort: (edge.address() as AddressInfo).port,
    close: async () => {
      edge.close();
      await grpcServer.shutdown(1000);
    },
  };
}

let ours: Awaited<ReturnType<typeof sluiceServers>>;
beforeAll(async () => {
  ours = await sluiceServers();
});
afterAll(async () => {
  await ours.close();
});

const directions: Direction[] = [
  {
    name: 'stock Connect client (gRPC) → Sluice grpc-js server',
    start: async () => ({
      client: createClient(
        TestService,
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${ours.grpcPort}` }),
      ) as unknown as TestClient,
      close: () => {},
    }),
  },
  {
    name: 'stock Connect client (Connect protocol) → Sluice Connect edge',
    start: async () => ({
      client: createClient(
        TestService,
        createConnectTransport({ baseUrl: `http://127.0.0.1:${ours.edgePort}`, httpVersion: '2' }),
      ) as unknown as TestClient,
      close: () => {},
    }),
  },
  {
    name: 'stock Connect client (gRPC-Web) → Sluice Connect edge',
    start: async () => ({
      client: createClient(
        TestService,
        createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${ours.edgePort}`, httpVersion: '2' }),
      ) as unknown as TestClient,
      close: () => {},
    }),
  },
  {
    name: 'Sluice client → stock grpc-js server',
    start: async () => {
      const stock = await startStockGrpcServer();
      const channel = createGrpcChannel({ address: `127.0.0.1:${stock.port}` });
      return {
        client: createGrpcClient(TestService, channel),
        close: () => {
          channel.close();
          stock.close();
        },
      };
    },
  },
  {
    name: 'Sluice client → stock Connect server',
    start: async () => {
      const stock = await startStockConnectServer();
      const channel = createGrpcChannel({ address: `127.0.0.1:${stock.port}` });
      return {
        client: createGrpcClient(TestService, channel),
        close: () => {
          channel.close();
          stock.close();
        },
      };
    },
  },
  {
    name: 'Sluice client → Sluice grpc-js server',
    start: async () => {
      const channel = createGrpcChannel({ address: `127.0.0.1:${ours.grpcPort}` });
      return { client: createGrpcClient(TestService, channel), close: () => channel.close() };
    },
  },
];

describe.each(directions)('interop: $name', (direction) => {
  let client: TestClient;
  let close: () => void;
  beforeAll(async () => {
    ({ client, close } = await direction.start());
  });
  afterAll(() => close());

  it('empty unary', async () => {
    const res = await client.emptyCall({});
    expect(res.$typeName).toBe('sluice.grpc.testing.v1.EmptyCallResponse');
  });

  it('large unary (~1 MB each way)', async () => {
    const res = await client.unaryCall({ responseSize: 1_000_000, payload: new Uint8Array(1_000_000) });
    expect(res.payload.length).toBe(1_000_000);
  });

  it('server streaming', async () => {
    const lengths: number[] = [];
    for await (const r of client.streamingOutputCall({ responseSizes: SIZES }))
      lengths.push(r.payload.length);
    expect(lengths).toEqual(SIZES);
  });

  it('client streaming', async () => {
    async function* requests() {
      for (const n of [27182, 8, 1828, 45904]) yield { payload: new Uint8Array(n) };
    }
    const res = await client.streamingInputCall(requests());
    expect(res.aggregatedPayloadSize).toBe(74922);
  });

  it('bidi ping-pong', async () => {
    const requests = pushable<{ responseSize: number }>();
    const responses = client.fullDuplexCall(requests)[Symbol.asyncIterator]();
    for (const size of SIZES) {
      requests.push({ responseSize: size });
      const r = await responses.next();
      expect(r.done).toBe(false);
      expect(r.value?.payload.length).toBe(size);
    }
    requests.end();
    expect((await responses.next()).done).toBe(true);
  });

  it('deadline exceeded on a sleeping server', async () => {
    const err = await failure(client.unaryCall({ sleepMs: 10_000 }, { timeoutMs: 300 }));
    expect(err.code).toBe(4);
  });

  it('cancel after begin', async () => {
    const controller = new AbortController();
    const call = failure(
      client.streamingInputCall(pushable<{ payload: Uint8Array }>(), { signal: controller.signal }),
    );
    setTimeout(() => controller.abort(), 50);
    expect((await call).code).toBe(1);
  });

  it('custom metadata echoed (initial and binary trailing)', async () => {
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    await client.unaryCall(
      { responseSize: 1 },
      {
        headers: { [ECHO_INITIAL]: 'test_initial_metadata_value', [ECHO_TRAILING]: TRAILING_B64 },
        onHeader: (h) => {
          header = h;
        },
        onTrailer: (t) => {
          trailer = t;
        },
      },
    );
    expect(header?.get(ECHO_INITIAL)).toBe('test_initial_metadata_value');
    expect(trailer?.get(ECHO_TRAILING)?.replace(/=+$/, '')).toBe(TRAILING_B64);
  });

  it('status code, message and details round trip', async () => {
    const err = await failure(
      client.unaryCall({
        responseStatus: {
          code: 8,
          message: 'only 2 left',
          reason: 'TEST_OUT_OF_STOCK',
          violatedField: 'items.0.quantity',
          retryAfterMs: 250,
        },
      }),
    );
    expect(err).toEqual({
      code: 8,
      message: 'only 2 left',
      reason: 'TEST_OUT_OF_STOCK',
      fields: ['items.0.quantity'],
      retryAfterMs: 250,
    });
  });
});

// A plain grpc-js client (callbacks and Node streams, no Sluice code) calling our grpc-js server.
describe('interop: stock grpc-js client → Sluice grpc-js server', () => {
  // biome-ignore lint/suspicious/noExplicitAny: the stock client is untyped
  let stock: any;
  beforeAll(() => {
    stock = stockGrpcClient(`127.0.0.1:${ours.grpcPort}`);
  });
  afterAll(() => stock.close());

  const unary = (method: string, req: unknown, md?: grpc.Metadata, opts: grpc.CallOptions = {}) =>
    new Promise<{ value: unknown; trailer: grpc.Metadata | undefined; header: grpc.Metadata | undefined }>(
      (resolve, reject) => {
        let header: grpc.Metadata | undefined;
        let trailer: grpc.Metadata | undefined;
        const call = stock[method](req, md ?? new grpc.Metadata(), opts, (err: unknown, value: unknown) =>
          err ? reject(err) : setImmediate(() => resolve({ value, trailer, header })),
        );
        call.on('metadata', (m: grpc.Metadata) => {
          header = m;
        });
        call.on('status', (s: grpc.StatusObject) => {
          trailer = s.metadata;
        });
      },
    );

  it('empty unary', async () => {
    const { value } = await unary('EmptyCall', create(EmptyCallRequestSchema));
    expect(value).toBeDefined();
  });

  it('large unary (~1 MB each way)', async () => {
    const { value } = await unary(
      'UnaryCall',
      create(UnaryCallRequestSchema, { responseSize: 1_000_000, payload: new Uint8Array(1_000_000) }),
    );
    expect((value as { payload: Uint8Array }).payload.length).toBe(1_000_000);
  });

  it('server streaming', async () => {
    const lengths: number[] = [];
    for await (const r of stock.StreamingOutputCall(
      create(StreamingOutputCallRequestSchema, { responseSizes: SIZES }),
    ))
      lengths.push(r.payload.length);
    expect(lengths).toEqual(SIZES);
  });

  it('client streaming', async () => {
    const res = await new Promise<{ aggregatedPayloadSize: number }>((resolve, reject) => {
      const call = stock.StreamingInputCall((err: unknown, v: { aggregatedPayloadSize: number }) =>
        err ? reject(err) : resolve(v),
      );
      for (const n of [27182, 8, 1828, 45904])
        call.write(create(StreamingInputCallRequestSchema, { payload: new Uint8Array(n) }));
      call.end();
    });
    expect(res.aggregatedPayloadSize).toBe(74922);
  });

  it('bidi ping-pong', async () => {
    const call = stock.FullDuplexCall();
    for (const size of SIZES) {
      const next = once(call, 'data');
      call.write(create(FullDuplexCallRequestSchema, { responseSize: size }));
      const [r] = await next;
      expect(r.payload.length).toBe(size);
    }
    const ended = once(call, 'end');
    call.end();
    call.resume();
    await ended;
  });

  it('deadline exceeded on a sleeping server', async () => {
    const err = await unary('UnaryCall', create(UnaryCallRequestSchema, { sleepMs: 10_000 }), undefined, {
      deadline: Date.now() + 300,
    }).catch((e) => e);
    expect(err.code).toBe(4);
  });

  it('cancel after begin', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const call = stock.StreamingInputCall((e: grpc.ServiceError) => resolve(e));
      setTimeout(() => call.cancel(), 50);
    });
    expect(err.code).toBe(1);
  });

  it('custom metadata echoed (initial and binary trailing)', async () => {
    const md = new grpc.Metadata();
    md.set(ECHO_INITIAL, 'test_initial_metadata_value');
    md.set(ECHO_TRAILING, Buffer.from([0xab, 0xab, 0xab]));
    const { header, trailer } = await unary(
      'UnaryCall',
      create(UnaryCallRequestSchema, { responseSize: 1 }),
      md,
    );
    expect(header?.get(ECHO_INITIAL)).toEqual(['test_initial_metadata_value']);
    expect(trailer?.get(ECHO_TRAILING)).toEqual([Buffer.from([0xab, 0xab, 0xab])]);
  });

  it('status code, message and details round trip (google.rpc.Status in grpc-status-details-bin)', async () => {
    const err = await unary(
      'UnaryCall',
      create(UnaryCallRequestSchema, {
        responseStatus: {
          code: 8,
          message: 'only 2 left',
          reason: 'TEST_OUT_OF_STOCK',
          violatedField: 'items.0.quantity',
          retryAfterMs: 250,
        },
      }),
    ).catch((e: grpc.ServiceError) => e);
    const e = err as grpc.ServiceError;
    expect(e.code).toBe(8);
    expect(e.details).toBe('only 2 left');
    expect(e.metadata.get('grpc-retry-pushback-ms')).toEqual(['250']);
    const status = fromBinary(StatusSchema, e.metadata.get('grpc-status-details-bin')[0] as Buffer);
    expect(status.code).toBe(8);
    expect(status.details.map((d) => d.typeUrl)).toEqual([
      'type.googleapis.com/google.rpc.ErrorInfo',
      'type.googleapis.com/google.rpc.BadRequest',
      'type.googleapis.com/google.rpc.RetryInfo',
    ]);
  });
});
