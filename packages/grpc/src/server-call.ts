import type { DescMethod, DescService } from '@bufbuild/protobuf';
import type * as grpc from '@grpc/grpc-js';
import { SluiceError } from '@sluice/errors';
import type { Deadline } from '@sluice/resilience';
import type { CallContext, CallRequest, CallResponse, StreamCallRequest, UnaryCallRequest } from './call.js';
import { GrpcReasons } from './reasons.js';
import { headersToMetadata, metadataToHeaders } from './wire.js';

/** Any grpc-js server call. */
export type ServerCall =
  | grpc.ServerUnaryCall<Buffer, Buffer>
  | grpc.ServerReadableStream<Buffer, Buffer>
  | grpc.ServerWritableStream<Buffer, Buffer>
  | grpc.ServerDuplexStream<Buffer, Buffer>;

/** The error a handler's signal aborts with when the caller cancels. */
export function callerCancelled(): SluiceError {
  return new SluiceError({
    code: 'cancelled',
    reason: GrpcReasons.GRPC_CANCELLED,
    message: 'call cancelled',
  });
}

/**
 * A grpc-js call's {@link CallContext}. Everything is built on first read:
 * a handler that never looks at headers or its signal costs no Headers
 * object and no AbortController.
 * @internal
 */
export class GrpcCallContext implements CallContext {
  readonly protocol = 'grpc' as const;
  private reqHeader: Headers | undefined;
  private resHeader: Headers | undefined;
  private resTrailer: Headers | undefined;
  private controller: AbortController | undefined;
  private headerSent = false;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    readonly call: ServerCall,
    readonly deadline: Deadline | undefined,
  ) {}

  get requestHeader(): Headers {
    this.reqHeader ??= metadataToHeaders(this.call.metadata);
    return this.reqHeader;
  }
  get responseHeader(): Headers {
    this.resHeader ??= new Headers();
    return this.resHeader;
  }
  get responseTrailer(): Headers {
    this.resTrailer ??= new Headers();
    return this.resTrailer;
  }
  get peer(): string {
    return this.call.getPeer();
  }
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const c = new AbortController();
      this.controller = c;
      if (this.call.cancelled) c.abort(callerCancelled());
      else
        (this.call as grpc.ServerUnaryCall<Buffer, Buffer>).once('cancelled', () =>
          c.abort(callerCancelled()),
        );
    }
    return this.controller.signal;
  }

  /** Sends the response header now if the handler set any (once). */
  flushHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    if (this.resHeader !== undefined && [...this.resHeader.keys()].length > 0) {
      this.call.sendMetadata(headersToMetadata(this.resHeader));
    }
  }

  /** The trailers the handler set, as grpc-js metadata (undefined when none). */
  trailerMetadata(): grpc.Metadata | undefined {
    return this.resTrailer === undefined ? undefined : headersToMetadata(this.resTrailer);
  }

  /** Aborts the handler's signal (the call ended or failed). */
  abort(reason: unknown): void {
    this.controller?.abort(reason);
  }
}

/**
 * One request header value, without building the whole `Headers` of a grpc-js
 * call (interceptors that need one key — `traceparent`, `authorization` — use it).
 * @internal
 */
export function requestHeaderValue(req: CallRequest, name: string): string | null {
  const ctx = req.context;
  if (ctx instanceof GrpcCallContext) {
    const v = ctx.call.metadata.get(name)[0];
    return v === undefined ? null : typeof v === 'string' ? v : v.toString('base64');
  }
  return req.header.get(name);
}

/** A server-side unary request. @internal */
export class ServerUnaryRequest implements UnaryCallRequest {
  readonly side = 'server' as const;
  readonly stream = false as const;
  constructor(
    readonly context: CallContext,
    readonly message: unknown,
  ) {}
  get service(): DescService {
    return this.context.service;
  }
  get method(): DescMethod {
    return this.context.method;
  }
  get header(): Headers {
    return this.context.requestHeader;
  }
  get signal(): AbortSignal {
    return this.context.signal;
  }
  get deadline(): Deadline | undefined {
    return this.context.deadline;
  }
}

/** A server-side streaming request. @internal */
export class ServerStreamRequest implements StreamCallRequest {
  readonly side = 'server' as const;
  readonly stream = true as const;
  constructor(
    readonly context: CallContext,
    readonly messages: AsyncIterable<unknown>,
  ) {}
  get service(): DescService {
    return this.context.service;
  }
  get method(): DescMethod {
    return this.context.method;
  }
  get header(): Headers {
    return this.context.requestHeader;
  }
  get signal(): AbortSignal {
    return this.context.signal;
  }
  get deadline(): Deadline | undefined {
    return this.context.deadline;
  }
}

/** Builds a server-side response whose header and trailer are the context's. @internal */
export function serverResponse(context: CallContext, result: unknown, stream: boolean): CallResponse {
  if (stream) {
    return {
      stream: true,
      messages: result as AsyncIterable<unknown>,
      get header() {
        return context.responseHeader;
      },
      get trailer() {
        return context.responseTrailer;
      },
    };
  }
  return {
    stream: false,
    message: result,
    get header() {
      return context.responseHeader;
    },
    get trailer() {
      return context.responseTrailer;
    },
  };
}
