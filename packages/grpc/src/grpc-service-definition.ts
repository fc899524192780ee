import type { DescMethod, DescService } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { SluiceError } from '@sluice/errors';
import { Deadline, withDeadline } from '@sluice/resilience';
import type { BoundService } from './bound-service.js';
import {
  applyInterceptors,
  type CallHandler,
  type CallRequest,
  type CallResponse,
  type Interceptor,
} from './call.js';
import { toWireStatus } from './error-details.js';
import { GrpcReasons } from './reasons.js';
import {
  GrpcCallContext,
  type ServerCall,
  ServerStreamRequest,
  ServerUnaryRequest,
  serverResponse,
} from './server-call.js';
import { contractsValidator, decodeRequest, encode, type RequestValidator } from './wire.js';

/** Options of {@link grpcServiceDefinition}. */
export interface GrpcServiceDefinitionOptions {
  /** Server interceptors, outermost first. Default: none. */
  readonly interceptors?: readonly Interceptor[];
  /**
   * Checks every decoded request; violations answer INVALID_ARGUMENT listing
   * the fields. Default: `@sluice/contracts`' `requestViolations`. `false` turns it off.
   */
  readonly validate?: RequestValidator | false;
}

/** A grpc-js service definition and its handlers, for `grpc.Server#addService`. */
export interface GrpcServiceAdapter {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

const identity = (b: Buffer): Buffer => b;

/** The grpc-js deadline of a call as a Deadline (undefined when the caller sent none). */
function deadlineOf(call: ServerCall): Deadline | undefined {
  const d = call.getDeadline();
  const at = typeof d === 'number' ? d : d.getTime();
  return Number.isFinite(at) ? Deadline.after(at - Date.now()) : undefined;
}

/** A status object grpc-js sends for a thrown value (code, message, trailers with details). */
export function toServiceError(error: unknown, context?: GrpcCallContext): Partial<grpc.StatusObject> {
  const wire = toWireStatus(error);
  const md = context?.trailerMetadata() ?? new grpc.Metadata();
  for (const [k, v] of wire.trailers) md.set(k, typeof v === 'string' ? v : Buffer.from(v));
  return { code: wire.code, details: wire.message, metadata: md };
}

function unimplemented(service: DescService, method: DescMethod): never {
  throw new SluiceError({
    code: 'unimplemented',
    reason: GrpcReasons.GRPC_UNIMPLEMENTED,
    message: `${service.typeName}.${method.name} is not implemented`,
  });
}

/** Runs `fn` with the call's deadline as the current deadline (so every call it makes inherits it). */
function scoped(deadline: Deadline | undefined, fn: () => void): void {
  if (deadline === undefined) fn();
  else withDeadline(deadline, fn);
}

/** Runs the interceptor chain; a synchronous throw becomes a rejection. */
function invoke(chain: CallHandler, req: CallRequest): Promise<CallResponse> {
  try {
    return chain(req);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Writes an async iterable of responses with backpressure; stops when the caller cancels. */
async function pump(
  call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>,
  responses: AsyncIterable<unknown>,
  method: DescMethod,
  ctx: GrpcCallContext,
): Promise<void> {
  const it = responses[Symbol.asyncIterator]();
  let finished = false;
  try {
    while (!call.cancelled) {
      const r = await it.next();
      if (r.done) {
        finished = true;
        break;
      }
      if (call.cancelled) break;
      ctx.flushHeader();
      // write() returns false once grpc-js holds a full buffer (HTTP/2 flow
      // control is pushing back): stop pulling until it drains.
      if (!call.write(encode(method.output, r.value))) await drainOrCancel(call);
    }
    if (!call.cancelled) {
      ctx.flushHeader();
      const trailers = ctx.trailerMetadata();
      if (trailers) call.end(trailers);
      else call.end();
    }
  } catch (e) {
    finished = true;
    if (!call.cancelled) call.emit('error', toServiceError(e, ctx));
  } finally {
    if (!finished) await it.return?.();
  }
}

function drainOrCancel(
  call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>,
) {
  return new Promise<void>((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.once('drain', done);
    call.once('cancelled', done);
  });
}

/** Decodes (and validates) a stream of request bytes as it is iterated. */
async function* decodeStream(
  source: grpc.ServerReadableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>,
  method: DescMethod,
  validate: RequestValidator | undefined,
): AsyncGenerator<unknown> {
  // destroyOnReturn: false — the default iterator destroys the stream when the
  // requests end, which for a bidi call kills the response side before its status is sent.
  const requests = source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
  for await (const bytes of requests) yield decodeRequest(method.input, bytes, validate);
}

/**
 * Adapts a protobuf-es service and its implementation to a grpc-js service
 * definition. Messages cross grpc-js as raw bytes and are decoded here, so a
 * malformed or invalid request answers INVALID_ARGUMENT with field details
 * instead of grpc-js' generic INTERNAL, and the server keeps serving.
 *
 * @example
 * ```ts
 * const { definition, implementation } = grpcServiceDefinition(bindService(S, impl));
 * rawGrpcServer.addService(definition, implementation);
 * ```
 */
export function grpcServiceDefinition(
  bound: BoundService,
  options: GrpcServiceDefinitionOptions = {},
): GrpcServiceAdapter {
  const { service } = bound;
  const validator = options.validate === false ? undefined : (options.validate ?? contractsValidator);
  const interceptors = options.interceptors ?? [];
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};

  for (const method of service.methods) {
    const impl = bound.impl[method.localName] as ((a: unknown, c: unknown) => unknown) | undefined;
    const kind = method.methodKind;
    const streamingOut = kind === 'server_streaming' || kind === 'bidi_streaming';
    const streamingIn = kind === 'client_streaming' || kind === 'bidi_streaming';
    definition[method.name] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: streamingIn,
      responseStream: streamingOut,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
      originalName: method.localName,
    };
    const terminal: CallHandler = async (req) => {
      const ctx = req.context as GrpcCallContext;
      if (impl === undefined) unimplemented(service, method);
      const input = req.stream ? req.messages : req.message;
      const out = streamingOut ? impl(input, ctx) : await impl(input, ctx);
      return serverResponse(ctx, out, streamingOut);
    };
    const chain = applyInterceptors(terminal, interceptors);

    switch (kind) {
      case 'unary':
        implementation[method.name] = (
          call: grpc.ServerUnaryCall<Buffer, Buffer>,
          callback: grpc.sendUnaryData<Buffer>,
        ) => {
          const ctx = new GrpcCallContext(service, method, call, deadlineOf(call));
          let message: unknown;
          try {
            message = decodeRequest(method.input, call.request, validator);
          } catch (e) {
            callback(toServiceError(e, ctx));
            return;
          }
          scoped(ctx.deadline, () =>
            invoke(chain, new ServerUnaryRequest(ctx, message)).then(
              (res) => {
                if (res.stream) throw new TypeError('unary handler returned a stream');
                ctx.flushHeader();
                callback(null, encode(method.output, res.message), ctx.trailerMetadata());
              },
              (e) => callback(toServiceError(e, ctx)),
            ),
          );
        };
        break;
      case 'server_streaming':
        implementation[method.name] = (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
          const ctx = new GrpcCallContext(service, method, call, deadlineOf(call));
          let message: unknown;
          try {
            message = decodeRequest(method.input, call.request, validator);
          } catch (e) {
            call.emit('error', toServiceError(e, ctx));
            return;
          }
          scoped(ctx.deadline, () =>
            invoke(chain, new ServerUnaryRequest(ctx, message)).then(
              (res) => (res.stream ? pump(call, res.messages, method, ctx) : undefined),
              (e) => {
                if (!call.cancelled) call.emit('error', toServiceError(e, ctx));
              },
            ),
          );
        };
        break;
      case 'client_streaming':
        implementation[method.name] = (
          call: grpc.ServerReadableStream<Buffer, Buffer>,
          callback: grpc.sendUnaryData<Buffer>,
        ) => {
          const ctx = new GrpcCallContext(service, method, call, deadlineOf(call));
          const req = new ServerStreamRequest(ctx, decodeStream(call, method, validator));
          scoped(ctx.deadline, () =>
            invoke(chain, req).then(
              (res) => {
                if (res.stream) throw new TypeError('client-streaming handler returned a stream');
                ctx.flushHeader();
                callback(null, encode(method.output, res.message), ctx.trailerMetadata());
              },
              (e) => callback(toServiceError(e, ctx)),
            ),
          );
        };
        break;
      case 'bidi_streaming':
        implementation[method.name] = (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
          const ctx = new GrpcCallContext(service, method, call, deadlineOf(call));
          const req = new ServerStreamRequest(ctx, decodeStream(call, method, validator));
          scoped(ctx.deadline, () =>
            invoke(chain, req).then(
              (res) => (res.stream ? pump(call, res.messages, method, ctx) : undefined),
              (e) => {
                if (!call.cancelled) call.emit('error', toServiceError(e, ctx));
              },
            ),
          );
        };
        break;
    }
  }
  return { definition: definition as grpc.ServiceDefinition, implementation };
}
