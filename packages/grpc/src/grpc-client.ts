import type {
  DescMessage,
  DescMethod,
  DescMethodBiDiStreaming,
  DescMethodClientStreaming,
  DescMethodServerStreaming,
  DescMethodUnary,
  DescService,
  MessageInitShape,
  MessageShape,
} from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';

const { Metadata } = grpc;

import { decodeMessage } from '@sluice/contracts';
import { isSluiceError, SluiceError } from '@sluice/errors';
import { currentDeadline, Deadline, DeadlineExceededError } from '@sluice/resilience';
import {
  applyInterceptors,
  type CallHandler,
  type CallRequest,
  type CallResponse,
  type Interceptor,
  type StreamCallResponse,
  type UnaryCallResponse,
} from './call.js';
import { fromWireStatus } from './error-details.js';
import type { GrpcChannel } from './grpc-channel.js';
import { GrpcReasons } from './reasons.js';
import { encode, headersToMetadata, metadataToHeaders } from './wire.js';

/** Per-call options of a {@link GrpcClient} method. */
export interface CallOptions {
  /** Aborts the call (the server sees it cancelled). */
  readonly signal?: AbortSignal;
  /** The call's deadline; tightened by the current deadline (`withDeadline`, or the handled call's) minus the overhead. */
  readonly deadline?: Deadline;
  /** Shorthand for `deadline: Deadline.after(timeoutMs)`, in milliseconds. */
  readonly timeoutMs?: number;
  /** Request metadata. `-bin` keys take base64 values. */
  readonly headers?: ConstructorParameters<typeof Headers>[0];
  /** Called with the response metadata. */
  readonly onHeader?: (header: Headers) => void;
  /** Called with the trailers when the call ends well. */
  readonly onTrailer?: (trailer: Headers) => void;
}

/** The client function of one method, by its kind. */
export type ClientMethod<M extends DescMethod> =
  M extends DescMethodUnary<infer I, infer O>
    ? (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
    : M extends DescMethodServerStreaming<infer I, infer O>
      ? (request: MessageInitShape<I>, options?: CallOptions) => AsyncIterable<MessageShape<O>>
      : M extends DescMethodClientStreaming<infer I, infer O>
        ? (requests: AsyncIterable<MessageInitShape<I>>, options?: CallOptions) => Promise<MessageShape<O>>
        : M extends DescMethodBiDiStreaming<infer I, infer O>
          ? (
              requests: AsyncIterable<MessageInitShape<I>>,
              options?: CallOptions,
            ) => AsyncIterable<MessageShape<O>>
          : never;

/** A typed client of a service: one function per method, by local name (`checkAvailability`). */
export type GrpcClient<S extends DescService> = {
  [K in keyof S['method']]: ClientMethod<S['method'][K]>;
};

/** Options of {@link createGrpcClient}. */
export interface GrpcClientOptions {
  /** Client interceptors, outermost first (resilience, tracing, auth…). Default: none. */
  readonly interceptors?: readonly Interceptor[];
  /**
   * Milliseconds kept back from an inherited deadline (the current one, e.g.
   * the deadline of the call being handled) for the response to travel back
   * and be handled. Explicit per-call deadlines are sent as they are. Default 5.
   */
  readonly deadlineOverheadMs?: number;
}

const identity = (b: Buffer): Buffer => b;

/** A received status as a SluiceError. */
function statusError(err: grpc.ServiceError): SluiceError {
  return fromWireStatus(
    err.code,
    err.details,
    (key) => {
      const v = err.metadata?.get(key)[0];
      return v === undefined ? undefined : typeof v === 'string' ? v : new Uint8Array(v);
    },
    err,
  );
}

function decodeResponse<D extends DescMessage>(schema: D, bytes: Buffer): MessageShape<D> {
  try {
    return decodeMessage(schema, bytes);
  } catch (cause) {
    throw new SluiceError({
      code: 'internal',
      reason: GrpcReasons.GRPC_MALFORMED_RESPONSE,
      message: `response does not decode as ${schema.typeName}`,
      cause,
    });
  }
}

/** The error a call fails with when its signal aborts: the signal's reason if it is a SluiceError. */
function abortedError(signal: AbortSignal): SluiceError {
  return isSluiceError(signal.reason)
    ? signal.reason
    : new SluiceError({
        code: 'cancelled',
        reason: GrpcReasons.GRPC_CANCELLED,
        message: 'call cancelled by the client',
      });
}

/** Where a request's headers live; shared by the request and the attempts derived from it. */
interface HeaderCell {
  h: Headers | undefined;
  readonly init: CallOptions['headers'];
}

/**
 * An outgoing call. Its `header` is created on first read, so a call that no
 * interceptor adds metadata to builds no Headers and converts nothing.
 * @internal
 */
export class ClientRequest {
  readonly side = 'client' as const;
  readonly context = undefined;
  readonly stream: boolean;
  declare readonly header: Headers;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    readonly message: unknown,
    readonly messages: AsyncIterable<unknown> | undefined,
    readonly signal: AbortSignal | undefined,
    readonly deadline: Deadline | undefined,
    private readonly cell: HeaderCell,
  ) {
    this.stream = messages !== undefined;
    // An own accessor, so an interceptor that spreads the request (`{ ...req }`) still copies the header.
    Object.defineProperty(this, 'header', { get: lazyHeader, enumerable: true });
  }

  /** The same call with another signal and deadline (a resilience attempt); headers are shared. */
  withAttempt(signal: AbortSignal | undefined, deadline: Deadline | undefined): ClientRequest {
    return new ClientRequest(
      this.service,
      this.method,
      this.message,
      this.messages,
      signal,
      deadline,
      this.cell,
    );
  }

  /** The headers if anyone created them (or the call was given some). */
  peekHeader(): Headers | undefined {
    return this.cell.h ?? (this.cell.init === undefined ? undefined : this.header);
  }
}

function lazyHeader(this: { cell: HeaderCell }): Headers {
  const cell = this.cell;
  cell.h ??= new Headers(cell.init);
  return cell.h;
}

/** The grpc-js metadata of a request: empty without building Headers when none were set. */
function metadataOf(req: CallRequest): grpc.Metadata {
  // A request derived by spreading has no peekHeader: its header was copied.
  const peek = (req as Partial<ClientRequest>).peekHeader;
  const h = typeof peek === 'function' ? peek.call(req) : req.header;
  return h === undefined ? new Metadata() : headersToMetadata(h);
}

/** Unary response whose header and trailer are converted on first read. */
class ClientUnaryResponse implements UnaryCallResponse {
  readonly stream = false as const;
  private h: Headers | undefined;
  private t: Headers | undefined;
  constructor(
    readonly message: unknown,
    private readonly md: { header?: grpc.Metadata; trailer?: grpc.Metadata },
  ) {}
  get header(): Headers {
    this.h ??= metadataToHeaders(this.md.header);
    return this.h;
  }
  get trailer(): Headers {
    this.t ??= metadataToHeaders(this.md.trailer);
    return this.t;
  }
}

/** Waits until a writable call drains or ends. */
function drained(call: grpc.ClientWritableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>) {
  return new Promise<void>((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('status', done);
      call.off('error', done);
      resolve();
    };
    call.once('drain', done);
    call.once('status', done);
    call.once('error', done);
  });
}

/**
 * Creates a typed client of `service` on a channel. Every call carries its
 * deadline as `grpc-timeout`, runs the interceptors, and fails with a
 * SluiceError mapped from the status (reason, field violations, pushback).
 *
 * @example
 * ```ts
 * const inventory = createGrpcClient(inventoryV1.InventoryService, channel, {
 *   interceptors: [resilienceInterceptor(pipeline(circuitBreaker(), retry({ maxAttempts: 3 })))],
 * });
 * const res = await inventory.checkAvailability({ productId: 'sku-1', quantity: 2 }, { timeoutMs: 500 });
 * ```
 */
export function createGrpcClient<S extends DescService>(
  service: S,
  channel: GrpcChannel,
  options: GrpcClientOptions = {},
): GrpcClient<S> {
  const client = channel.client;
  const overheadMs = options.deadlineOverheadMs ?? 5;
  const interceptors = options.interceptors ?? [];

  /** grpc-js call options for a request: its deadline, tightened by the inherited one. */
  const callOptions = (req: CallRequest): grpc.CallOptions => {
    let deadline = req.deadline;
    const inherited = currentDeadline();
    if (inherited !== undefined) deadline = inherited.downstream(overheadMs).min(deadline);
    if (deadline === undefined) return {};
    const ms = deadline.remaining();
    if (ms <= 0)
      throw new DeadlineExceededError('deadline exceeded before the call was sent', req.method.name);
    return { deadline: Date.now() + ms };
  };

  const out: Record<string, unknown> = {};
  for (const method of service.methods) {
    const path = `/${service.typeName}/${method.name}`;
    const kind = method.methodKind;
    let terminal: CallHandler;

    if (kind === 'unary' || kind === 'client_streaming') {
      terminal = (req) =>
        new Promise<CallResponse>((resolve, reject) => {
          const opts = callOptions(req);
          const md = metadataOf(req);
          const signal = req.signal;
          const got: { header?: grpc.Metadata; trailer?: grpc.Metadata } = {};
          let onAbort: (() => void) | undefined;
          let sourceError: unknown;
          const callback = (err: grpc.ServiceError | null, value?: Buffer) => {
            if (onAbort) signal?.removeEventListener('abort', onAbort);
            if (err) {
              reject(
                sourceError !== undefined
                  ? sourceError
                  : signal?.aborted
                    ? abortedError(signal)
                    : statusError(err),
              );
              return;
            }
            try {
              resolve(new ClientUnaryResponse(decodeResponse(method.output, value as Buffer), got));
            } catch (e) {
              reject(e);
            }
          };
          let call: grpc.ClientUnaryCall | grpc.ClientWritableStream<Buffer>;
          if (req.stream) {
            const w = client.makeClientStreamRequest(path, identity, identity, md, opts, callback);
            call = w;
            void writeAll(w, req.messages, method.input).then((e) => {
              sourceError = e;
            });
          } else {
            call = client.makeUnaryRequest(
              path,
              identity,
              identity,
              encode(method.input, req.message),
              md,
              opts,
              callback,
            );
          }
          call.on('metadata', (m: grpc.Metadata) => {
            got.header = m;
          });
          call.on('status', (s: grpc.StatusObject) => {
            got.trailer = s.metadata;
          });
          if (signal !== undefined) {
            if (signal.aborted) call.cancel();
            else {
              onAbort = () => call.cancel();
              signal.addEventListener('abort', onAbort, { once: true });
            }
          }
        });
    } else {
      terminal = async (req) => {
        const opts = callOptions(req);
        const md = metadataOf(req);
        const call = req.stream
          ? client.makeBidiStreamRequest(path, identity, identity, md, opts)
          : client.makeServerStreamRequest(
              path,
              identity,
              identity,
              encode(method.input, req.message),
              md,
              opts,
            );
        const got: { header?: grpc.Metadata; trailer?: grpc.Metadata } = {};
        call.on('metadata', (m: grpc.Metadata) => {
          got.header = m;
        });
        call.on('status', (s: grpc.StatusObject) => {
          got.trailer = s.metadata;
        });
        // The iterator below reports errors; this keeps a late one (after a break) from being unhandled.
        call.on('error', () => {});
        const writing = req.stream
          ? writeAll(call as grpc.ClientDuplexStream<Buffer, Buffer>, req.messages, method.input)
          : undefined;
        const response: StreamCallResponse = {
          stream: true,
          messages: readAll(call, method.output, req.signal, writing),
          get header() {
            return metadataToHeaders(got.header);
          },
          get trailer() {
            return metadataToHeaders(got.trailer);
          },
        };
        return response;
      };
    }

    const chain = applyInterceptors(terminal, interceptors);
    const request = (message: unknown, messages: unknown, opts: CallOptions | undefined): CallRequest =>
      new ClientRequest(
        service,
        method,
        message,
        messages as AsyncIterable<unknown> | undefined,
        opts?.signal,
        opts?.deadline ?? (opts?.timeoutMs === undefined ? undefined : Deadline.after(opts.timeoutMs)),
        { h: undefined, init: opts?.headers },
      ) as CallRequest;
    const report = (res: CallResponse, opts: CallOptions | undefined) => {
      opts?.onHeader?.(res.header);
    };

    if (kind === 'unary' || kind === 'client_streaming') {
      const streamIn = kind === 'client_streaming';
      out[method.localName] = async (input: unknown, opts?: CallOptions) => {
        const res = await chain(streamIn ? request(undefined, input, opts) : request(input, undefined, opts));
        if (opts !== undefined) {
          report(res, opts);
          opts.onTrailer?.(res.trailer);
        }
        return (res as UnaryCallResponse).message;
      };
    } else {
      const streamIn = kind === 'bidi_streaming';
      out[method.localName] = async function* (input: unknown, opts?: CallOptions) {
        const res = (await chain(
          streamIn ? request(undefined, input, opts) : request(input, undefined, opts),
        )) as StreamCallResponse;
        let first = true;
        for await (const m of res.messages) {
          if (first) {
            first = false;
            report(res, opts);
          }
          yield m;
        }
        if (first) report(res, opts);
        opts?.onTrailer?.(res.trailer);
      };
    }
  }
  return out as GrpcClient<S>;
}

/** Writes a request stream with backpressure, then half-closes; a failing source cancels the call. */
async function writeAll(
  call: grpc.ClientWritableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>,
  messages: AsyncIterable<unknown>,
  schema: DescMessage,
): Promise<unknown> {
  let ended = false;
  const onStatus = () => {
    ended = true;
  };
  call.once('status', onStatus);
  try {
    for await (const m of messages) {
      if (ended) return undefined;
      if (!call.write(encode(schema, m))) await drained(call);
    }
    if (!ended) call.end();
    return undefined;
  } catch (e) {
    call.cancel();
    return e;
  } finally {
    call.off('status', onStatus);
  }
}

/** Reads a response stream as decoded messages; breaking out (or the signal) cancels the call. */
async function* readAll(
  call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>,
  schema: DescMessage,
  signal: AbortSignal | undefined,
  writing: Promise<unknown> | undefined,
): AsyncGenerator<unknown> {
  let done = false;
  const onAbort = () => call.cancel();
  if (signal?.aborted) call.cancel();
  else signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const bytes of call as AsyncIterable<Buffer>) yield decodeResponse(schema, bytes);
    done = true;
  } catch (e) {
    done = true;
    const sourceError = writing ? await Promise.race([writing, Promise.resolve(undefined)]) : undefined;
    if (sourceError !== undefined) throw sourceError;
    if (signal?.aborted) throw abortedError(signal);
    throw isSluiceError(e) ? e : statusError(e as grpc.ServiceError);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!done) call.cancel();
  }
}
