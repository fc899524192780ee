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
import type { Deadline } from '@sluice/resilience';

/** The wire protocol a call arrived on (server side). */
export type Protocol = 'grpc' | 'grpc-web' | 'connect';

/**
 * What a handler sees of its call, on grpc-js and on Connect alike.
 * Headers are WHATWG `Headers`; `-bin` metadata values are base64 there, as on the wire.
 */
export interface CallContext {
  /** The service called. */
  readonly service: DescService;
  /** The method called. */
  readonly method: DescMethod;
  /** The wire protocol of the call. */
  readonly protocol: Protocol;
  /** Incoming request metadata. */
  readonly requestHeader: Headers;
  /** Response metadata: set before the first streamed message (or before returning, for unary). */
  readonly responseHeader: Headers;
  /** Trailers sent with the status. */
  readonly responseTrailer: Headers;
  /** Aborts when the caller cancels or the deadline passes. Pass it to your I/O. */
  readonly signal: AbortSignal;
  /**
   * The caller's deadline (from `grpc-timeout` / `connect-timeout-ms`), also the
   * current deadline (`currentDeadline()`) while the handler runs, so outgoing
   * Sluice calls inherit it. `undefined` when the caller set none.
   */
  readonly deadline: Deadline | undefined;
  /** The caller's address, as the transport reports it. */
  readonly peer: string;
}

/** A unary method's implementation. */
export type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: CallContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;
/** A server-streaming method's implementation: an async iterable of responses (pulled with backpressure). */
export type ServerStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: CallContext,
) => AsyncIterable<MessageInitShape<O>>;
/** A client-streaming method's implementation. */
export type ClientStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: CallContext,
) => Promise<MessageInitShape<O>>;
/** A bidirectional-streaming method's implementation. */
export type BiDiStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: CallContext,
) => AsyncIterable<MessageInitShape<O>>;

/** The implementation type of one method, by its kind. */
export type MethodImpl<M extends DescMethod> =
  M extends DescMethodUnary<infer I, infer O>
    ? UnaryImpl<I, O>
    : M extends DescMethodServerStreaming<infer I, infer O>
      ? ServerStreamingImpl<I, O>
      : M extends DescMethodClientStreaming<infer I, infer O>
        ? ClientStreamingImpl<I, O>
        : M extends DescMethodBiDiStreaming<infer I, infer O>
          ? BiDiStreamingImpl<I, O>
          : never;

/**
 * A typed implementation of a protobuf-es service (`GenService`), one function
 * per method, keyed by the method's local name (`checkAvailability`). The same
 * object serves on grpc-js ({@link createGrpcServer}) and on Connect
 * ({@link createConnectHandler}). Missing methods answer UNIMPLEMENTED.
 */
export type ServiceImpl<S extends DescService> = {
  [K in keyof S['method']]: MethodImpl<S['method'][K]>;
};

/** Fields every intercepted call has, client side and server side. */
interface CallRequestBase {
  /** `client` for outgoing calls, `server` for incoming ones. */
  readonly side: 'client' | 'server';
  readonly service: DescService;
  readonly method: DescMethod;
  /** Request metadata: outgoing (client, mutable) or incoming (server). */
  readonly header: Headers;
  /** Aborts the call (client) or aborts when the caller cancels (server). */
  readonly signal: AbortSignal | undefined;
  /** The call's deadline: sent as `grpc-timeout` (client), received (server). */
  readonly deadline: Deadline | undefined;
  /** The server's call context (server side only). */
  readonly context: CallContext | undefined;
}

/** A call with one request message (unary, server streaming). */
export interface UnaryCallRequest extends CallRequestBase {
  readonly stream: false;
  readonly message: unknown;
}

/** A call with a stream of request messages (client streaming, bidi). */
export interface StreamCallRequest extends CallRequestBase {
  readonly stream: true;
  readonly messages: AsyncIterable<unknown>;
}

/** What an interceptor receives. */
export type CallRequest = UnaryCallRequest | StreamCallRequest;

/** The result of a call with one response message (unary, client streaming). */
export interface UnaryCallResponse {
  readonly stream: false;
  readonly message: unknown;
  /** Response metadata (client: received; server: to send). */
  readonly header: Headers;
  /** Trailers (client: received, complete once the promise resolved; server: to send). */
  readonly trailer: Headers;
}

/** The result of a call with a stream of response messages. */
export interface StreamCallResponse {
  readonly stream: true;
  /** The responses; iterating pulls them with backpressure, breaking out cancels the call. */
  readonly messages: AsyncIterable<unknown>;
  readonly header: Headers;
  /** Trailers: complete once `messages` is done. */
  readonly trailer: Headers;
}

/** What an interceptor returns. */
export type CallResponse = UnaryCallResponse | StreamCallResponse;

/** Runs a call (the next interceptor, or the transport / the handler at the end). */
export type CallHandler = (request: CallRequest) => Promise<CallResponse>;

/**
 * A cross-cutting concern around a call, the same shape on the client and on
 * the server: `(next) => async (request) => response`. Errors are SluiceErrors
 * on both sides (the client maps received statuses before interceptors see them).
 *
 * @example
 * ```ts
 * const logging: Interceptor = (next) => async (req) => {
 *   const started = performance.now();
 *   try { return await next(req); }
 *   finally { console.log(req.method.name, performance.now() - started); }
 * };
 * ```
 */
export type Interceptor = (next: CallHandler) => CallHandler;

/** Wraps `handler` in `interceptors`, the first one outermost. */
export function applyInterceptors(handler: CallHandler, interceptors: readonly Interceptor[]): CallHandler {
  let h = handler;
  for (let i = interceptors.length - 1; i >= 0; i--) h = (interceptors[i] as Interceptor)(h);
  return h;
}
