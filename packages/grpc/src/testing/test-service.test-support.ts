// Implementations of the interop TestService: one on @sluice/grpc, and the
// "stock" peers that use no Sluice code (plain grpc-js, plain Connect).
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import { codeFromGrpcStatus, SluiceError } from '@sluice/errors';
import { currentDeadline } from '@sluice/resilience';
import type { ServiceImpl } from '../call.js';
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from '../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../gen/google/rpc/status_pb.js';
import {
  type EchoStatus,
  EmptyCallRequestSchema,
  EmptyCallResponseSchema,
  FullDuplexCallRequestSchema,
  FullDuplexCallResponseSchema,
  StreamingInputCallRequestSchema,
  StreamingInputCallResponseSchema,
  StreamingOutputCallRequestSchema,
  StreamingOutputCallResponseSchema,
  TestService,
  UnaryCallRequestSchema,
  UnaryCallResponseSchema,
} from '../gen/sluice/grpc/testing/v1/test_pb.js';

export { TestService };

/** Metadata keys of the gRPC interop "custom metadata" case. */
export const ECHO_INITIAL = 'x-grpc-test-echo-initial';
export const ECHO_TRAILING = 'x-grpc-test-echo-trailing-bin';

/** Sleeps `ms`, or until `signal` aborts (a slow server that still notices cancellation). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Counters the streaming handlers update, read by backpressure tests. */
export const produced = { count: 0 };

const KIB = new Uint8Array(1024);

/** The TestService on @sluice/grpc. */
export const sluiceTestImpl: ServiceImpl<typeof TestService> = {
  emptyCall: () => ({}),
  async unaryCall(req, ctx) {
    const initial = ctx.requestHeader.get(ECHO_INITIAL);
    if (initial !== null) ctx.responseHeader.set(ECHO_INITIAL, initial);
    const trailing = ctx.requestHeader.get(ECHO_TRAILING);
    if (trailing !== null) ctx.responseTrailer.set(ECHO_TRAILING, trailing);
    const left = currentDeadline()?.remaining() ?? 0;
    if (req.sleepMs > 0) await sleep(req.sleepMs, ctx.signal);
    const s = req.responseStatus;
    if (s && s.code !== 0) {
      throw new SluiceError({
        code: codeFromGrpcStatus(s.code) ?? 'unknown',
        reason: s.reason || 'TEST_FAILURE',
        message: s.message,
        ...(s.violatedField
          ? { details: { violations: [{ field: s.violatedField, message: 'is invalid' }] } }
          : {}),
        ...(s.retryAfterMs > 0 ? { retryAfterMs: s.retryAfterMs } : {}),
      });
    }
    return { payload: new Uint8Array(req.responseSize), deadlineRemainingMs: BigInt(Math.round(left)) };
  },
  async *streamingOutputCall(req, ctx) {
    if (req.endless) {
      for (let i = 0; !ctx.signal.aborted; i++) {
        produced.count++;
        yield { payload: KIB, index: BigInt(i) };
      }
      return;
    }
    for (const [i, size] of req.responseSizes.entries()) {
      yield { payload: new Uint8Array(size), index: BigInt(i) };
      if (i === 0 && req.sleepAfterFirstMs > 0) await sleep(req.sleepAfterFirstMs, ctx.signal);
    }
  },
  async streamingInputCall(requests) {
    let total = 0;
    for await (const r of requests) total += r.payload.length;
    return { aggregatedPayloadSize: total };
  },
  async *fullDuplexCall(requests) {
    for await (const r of requests) yield { payload: new Uint8Array(r.responseSize) };
  },
};

// ---------------------------------------------------------------------------
// Stock grpc-js server: plain grpc-js, serialization by protobuf-es only.

/** The standard grpc-status-details-bin value for an EchoStatus (what any gRPC server would send). */
function statusDetails(s: EchoStatus): Buffer {
  const details = [anyPack(ErrorInfoSchema, create(ErrorInfoSchema, { reason: s.reason, domain: 'test' }))];
  if (s.violatedField) {
    details.push(
      anyPack(
        BadRequestSchema,
        create(BadRequestSchema, {
          fieldViolations: [{ field: s.violatedField, description: 'is invalid' }],
        }),
      ),
    );
  }
  return Buffer.from(
    toBinary(StatusSchema, create(StatusSchema, { code: s.code, message: s.message, details })),
  );
}

const ser =
  <T>(schema: Parameters<typeof toBinary>[0]) =>
  (m: T) =>
    Buffer.from(toBinary(schema, m as never));
const de = (schema: Parameters<typeof fromBinary>[0]) => (b: Buffer) => fromBinary(schema, b);

/** The TestService as a plain grpc-js service definition (protobuf-es serializers). */
export const stockDefinition: grpc.ServiceDefinition = {
  EmptyCall: {
    path: '/sluice.grpc.testing.v1.TestService/EmptyCall',
    requestStream: false,
    responseStream: false,
    requestSerialize: ser(EmptyCallRequestSchema),
    requestDeserialize: de(EmptyCallRequestSchema),
    responseSerialize: ser(EmptyCallResponseSchema),
    responseDeserialize: de(EmptyCallResponseSchema),
  },
  UnaryCall: {
    path: '/sluice.grpc.testing.v1.TestService/UnaryCall',
    requestStream: false,
    responseStream: false,
    requestSerialize: ser(UnaryCallRequestSchema),
    requestDeserialize: de(UnaryCallRequestSchema),
    responseSerialize: ser(UnaryCallResponseSchema),
    responseDeserialize: de(UnaryCallResponseSchema),
  },
  StreamingOutputCall: {
    path: '/sluice.grpc.testing.v1.TestService/StreamingOutputCall',
    requestStream: false,
    responseStream: true,
    requestSerialize: ser(StreamingOutputCallRequestSchema),
    requestDeserialize: de(StreamingOutputCallRequestSchema),
    responseSerialize: ser(StreamingOutputCallResponseSchema),
    responseDeserialize: de(StreamingOutputCallResponseSchema),
  },
  StreamingInputCall: {
    path: '/sluice.grpc.testing.v1.TestService/StreamingInputCall',
    requestStream: true,
    responseStream: false,
    requestSerialize: ser(StreamingInputCallRequestSchema),
    requestDeserialize: de(StreamingInputCallRequestSchema),
    responseSerialize: ser(StreamingInputCallResponseSchema),
    responseDeserialize: de(StreamingInputCallResponseSchema),
  },
  FullDuplexCall: {
    path: '/sluice.grpc.testing.v1.TestService/FullDuplexCall',
    requestStream: true,
    responseStream: true,
    requestSerialize: ser(FullDuplexCallRequestSchema),
    requestDeserialize: de(FullDuplexCallRequestSchema),
    responseSerialize: ser(FullDuplexCallResponseSchema),
    responseDeserialize: de(FullDuplexCallResponseSchema),
  },
};

// biome-ignore lint/suspicious/noExplicitAny: plain grpc-js handlers are untyped
type Any = any;

/** Starts a plain grpc-js TestService server on loopback. */
export async function startStockGrpcServer(): Promise<{ port: number; close(): void }> {
  const server = new grpc.Server();
  server.addService(stockDefinition, {
    EmptyCall: (_call: Any, cb: Any) => cb(null, create(EmptyCallResponseSchema)),
    UnaryCall: (call: Any, cb: Any) => {
      const req = call.request;
      const initial = call.metadata.get(ECHO_INITIAL)[0];
      if (initial !== undefined) {
        const md = new grpc.Metadata();
        md.set(ECHO_INITIAL, initial);
        call.sendMetadata(md);
      }
      const trailers = new grpc.Metadata();
      const trailing = call.metadata.get(ECHO_TRAILING)[0];
      if (trailing !== undefined) trailers.set(ECHO_TRAILING, trailing);
      const answer = () => {
        const s = req.responseStatus as EchoStatus | undefined;
        if (s && s.code !== 0) {
          trailers.set('grpc-status-details-bin', statusDetails(s));
          if (s.retryAfterMs > 0) trailers.set('grpc-retry-pushback-ms', String(s.retryAfterMs));
          cb({ code: s.code, details: s.message, metadata: trailers });
          return;
        }
        cb(null, create(UnaryCallResponseSchema, { payload: new Uint8Array(req.responseSize) }), trailers);
      };
      if (req.sleepMs > 0) {
        const t = setTimeout(answer, req.sleepMs);
        call.on('cancelled', () => clearTimeout(t));
      } else answer();
    },
    StreamingOutputCall: async (call: Any) => {
      for (const [i, size] of (call.request.responseSizes as number[]).entries()) {
        call.write(
          create(StreamingOutputCallResponseSchema, { payload: new Uint8Array(size), index: BigInt(i) }),
        );
      }
      call.end();
    },
    StreamingInputCall: (call: Any, cb: Any) => {
      let total = 0;
      call.on('data', (r: Any) => {
        total += r.payload.length;
      });
      call.on('end', () =>
        cb(null, create(StreamingInputCallResponseSchema, { aggregatedPayloadSize: total })),
      );
      call.on('error', () => {});
    },
    FullDuplexCall: (call: Any) => {
      call.on('data', (r: Any) =>
        call.write(create(FullDuplexCallResponseSchema, { payload: new Uint8Array(r.responseSize) })),
      );
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { port, close: () => server.forceShutdown() };
}

/** A plain grpc-js client of the TestService (no Sluice code). */
export function stockGrpcClient(address: string): Any {
  const Ctor = grpc.makeGenericClientConstructor(stockDefinition, 'TestService');
  return new Ctor(address, grpc.credentials.createInsecure());
}

// ---------------------------------------------------------------------------
// Stock Connect server: plain @connectrpc/connect-node over HTTP/2 (h2c).

/** Starts a plain Connect TestService server (gRPC, gRPC-Web, Connect) on loopback HTTP/2. */
export async function startStockConnectServer(): Promise<{ port: number; close(): void }> {
  const handler = connectNodeAdapter({
    routes(router) {
      router.service(TestService, {
        emptyCall: () => ({}),
        async unaryCall(req, ctx: HandlerContext) {
          const initial = ctx.requestHeader.get(ECHO_INITIAL);
          if (initial !== null) ctx.responseHeader.set(ECHO_INITIAL, initial);
          const trailing = ctx.requestHeader.get(ECHO_TRAILING);
          if (trailing !== null) ctx.responseTrailer.set(ECHO_TRAILING, trailing);
          if (req.sleepMs > 0) await sleep(req.sleepMs, ctx.signal);
          const s = req.responseStatus;
          if (s && s.code !== 0) {
            const details: { desc: Any; value: Any }[] = [
              { desc: ErrorInfoSchema, value: { reason: s.reason, domain: 'test' } },
            ];
            if (s.violatedField) {
              details.push({
                desc: BadRequestSchema,
                value: { fieldViolations: [{ field: s.violatedField, description: 'is invalid' }] },
              });
            }
            if (s.retryAfterMs > 0) {
              details.push({
                desc: RetryInfoSchema,
                value: { retryDelay: { seconds: 0n, nanos: s.retryAfterMs * 1e6 } },
              });
            }
            throw new ConnectError(s.message, s.code as Code, undefined, details);
          }
          return { payload: new Uint8Array(req.responseSize) };
        },
        async *streamingOutputCall(req) {
          for (const [i, size] of req.responseSizes.entries())
            yield { payload: new Uint8Array(size), index: BigInt(i) };
        },
        async streamingInputCall(reqs) {
          let total = 0;
          for await (const r of reqs) total += r.payload.length;
          return { aggregatedPayloadSize: total };
        },
        async *fullDuplexCall(reqs) {
          for await (const r of reqs) yield { payload: new Uint8Array(r.responseSize) };
        },
      });
    },
  });
  const server = http2.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.close();
    },
  };
}

export { Code };
