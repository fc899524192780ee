import type { DescMethod, DescService } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import { type ConnectNodeAdapterOptions, connectNodeAdapter } from '@connectrpc/connect-node';
import { isSluiceError } from '@sluice/errors';
import { Deadline, withDeadline } from '@sluice/resilience';
import type { BoundService } from './bound-service.js';
import {
  applyInterceptors,
  type CallContext,
  type CallHandler,
  type CallRequest,
  type CallResponse,
  type Interceptor,
  type Protocol,
} from './call.js';
import { toWireStatus } from './error-details.js';
import { ServerStreamRequest, ServerUnaryRequest, serverResponse } from './server-call.js';
import { contractsValidator, invalidMessage, type RequestValidator } from './wire.js';

/** Options of {@link createConnectHandler}. */
export interface ConnectHandlerOptions {
  /** The services to serve (see {@link bindService}). */
  readonly services: readonly BoundService[];
  /** Server interceptors, outermost first: the same ones the grpc-js server takes. Default: none. */
  readonly interceptors?: readonly Interceptor[];
  /** Request validation. Default: `@sluice/contracts`' field rules; `false` turns it off. */
  readonly validate?: RequestValidator | false;
  /**
   * Connect adapter options (`grpc`, `grpcWeb`, `connect` switches, `readMaxBytes`,
   * `requestPathPrefix`, …). Default: all three protocols on.
   */
  readonly adapter?: Omit<ConnectNodeAdapterOptions, 'routes'>;
}

/** A Node request handler, for `http.createServer`, `http2.createServer` or `http2.createSecureServer`. */
export type NodeHandler = ReturnType<typeof connectNodeAdapter>;

/** A Connect handler context seen as a {@link CallContext}. */
class ConnectCallContext implements CallContext {
  readonly deadline: Deadline | undefined;
  constructor(
    private readonly h: HandlerContext,
    readonly service: DescService,
    readonly method: DescMethod,
  ) {
    const ms = h.timeoutMs();
    this.deadline = ms === undefined ? undefined : Deadline.after(ms);
  }
  get protocol(): Protocol {
    return this.h.protocolName as Protocol;
  }
  get requestHeader(): Headers {
    return this.h.requestHeader;
  }
  get responseHeader(): Headers {
    return this.h.responseHeader;
  }
  get responseTrailer(): Headers {
    return this.h.responseTrailer;
  }
  get signal(): AbortSignal {
    return this.h.signal;
  }
  get peer(): string {
    return this.h.url;
  }
}

/** A thrown value as a ConnectError with the same code, message and details the grpc-js server sends. */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError && !isSluiceError(error)) return error;
  const wire = toWireStatus(error);
  const meta = new Headers();
  for (const [k, v] of wire.trailers) if (typeof v === 'string') meta.set(k, v);
  return new ConnectError(
    wire.message,
    wire.code as Code,
    meta,
    wire.details.map((d) => ({ desc: d.desc, value: d.value as never })),
  );
}

/**
 * Serves the same service implementations over Connect — the Connect
 * protocol (JSON or binary, so `curl` can call), gRPC-Web (browsers) and gRPC
 * — as a Node request handler. Mount it in `http.createServer` (HTTP/1.1:
 * Connect and gRPC-Web), `http2.createServer` / `http2.createSecureServer`
 * (`allowHTTP1: true` for both), or Fastify (`@connectrpc/connect-fastify`).
 *
 * @example
 * ```ts
 * const handler = createConnectHandler({ services: [bindService(inventoryV1.InventoryService, impl)] });
 * http.createServer(handler).listen(8080);
 * // curl -H 'content-type: application/json' -d '{"productId":"sku-1","quantity":1}' \
 * //   http://localhost:8080/sluice.inventory.v1.InventoryService/CheckAvailability
 * ```
 */
export function createConnectHandler(options: ConnectHandlerOptions): NodeHandler {
  const validator = options.validate === false ? undefined : (options.validate ?? contractsValidator);
  const interceptors = options.interceptors ?? [];
  const check = (m: unknown, method: DescMethod) => {
    if (validator === undefined) return;
    const v = validator(m as { readonly $typeName: string });
    if (v.length > 0) throw invalidMessage(method.input.typeName, v);
  };
  async function* checked(source: AsyncIterable<unknown>, method: DescMethod): AsyncGenerator<unknown> {
    for await (const m of source) {
      check(m, method);
      yield m;
    }
  }

  const routes = (router: ConnectRouter) => {
    for (const bound of options.services) {
      const { service } = bound;
      const impl: Record<string, unknown> = {};
      for (const method of service.methods) {
        const fn = bound.impl[method.localName] as ((a: unknown, c: unknown) => unknown) | undefined;
        const kind = method.methodKind;
        const streamingOut = kind === 'server_streaming' || kind === 'bidi_streaming';
        const terminal: CallHandler = async (req) => {
          if (fn === undefined) {
            throw new ConnectError(
              `${service.typeName}.${method.name} is not implemented`,
              Code.Unimplemented,
            );
          }
          const ctx = req.context as CallContext;
          const input = req.stream ? req.messages : req.message;
          return serverResponse(ctx, streamingOut ? fn(input, ctx) : await fn(input, ctx), streamingOut);
        };
        const chain = applyInterceptors(terminal, interceptors);
        const call = (ctx: ConnectCallContext, input: unknown): Promise<CallResponse> => {
          let req: CallRequest;
          if (kind === 'unary' || kind === 'server_streaming') {
            check(input, method);
            req = new ServerUnaryRequest(ctx, input);
          } else req = new ServerStreamRequest(ctx, checked(input as AsyncIterable<unknown>, method));
          return ctx.deadline === undefined ? chain(req) : withDeadline(ctx.deadline, () => chain(req));
        };
        impl[method.localName] = streamingOut
          ? async function* (input: unknown, h: HandlerContext) {
              const ctx = new ConnectCallContext(h, service, method);
              const deadline = ctx.deadline;
              try {
                const res = await call(ctx, input);
                if (!res.stream) return;
                // Pull each response inside the deadline's scope, so the handler's
                // generator body sees it as the current deadline too.
                const it = res.messages[Symbol.asyncIterator]();
                let done = false;
                try {
                  for (;;) {
                    const r = await (deadline === undefined
                      ? it.next()
                      : withDeadline(deadline, () => it.next()));
                    if (r.done) {
                      done = true;
                      return;
                    }
                    yield r.value;
                  }
                } finally {
                  if (!done) await it.return?.();
                }
              } catch (e) {
                throw toConnectError(e);
              }
            }
          : async (input: unknown, h: HandlerContext) => {
              try {
                const res = await call(new ConnectCallContext(h, service, method), input);
                return res.stream ? undefined : res.message;
              } catch (e) {
                throw toConnectError(e);
              }
            };
      }
      router.service(service, impl as never);
    }
  };
  return connectNodeAdapter({ ...options.adapter, routes });
}
