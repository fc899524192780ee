import type { DescService } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { type BoundService, bindService } from './bound-service.js';
import type { Interceptor, ServiceImpl } from './call.js';
import { grpcServiceDefinition } from './grpc-service-definition.js';
import type { RequestValidator } from './wire.js';

/** TLS of a server. PEM strings or buffers. */
export interface ServerTlsOptions {
  /** The server's certificate chain (PEM). */
  readonly cert: string | Buffer;
  /** The server's private key (PEM). */
  readonly key: string | Buffer;
  /** CA certificates that sign client certificates (PEM); required for mutual TLS. */
  readonly ca?: string | Buffer;
  /** Mutual TLS: refuse clients without a certificate signed by `ca`. Default: `true` when `ca` is set. */
  readonly requireClientCert?: boolean;
}

/** Server keepalive (HTTP/2 PING). */
export interface ServerKeepaliveOptions {
  /** Milliseconds between server PINGs on an idle connection. Default 60 000. */
  readonly timeMs?: number;
  /** Milliseconds to wait for a PING ack before closing the connection. Default 20 000. */
  readonly timeoutMs?: number;
  /** Shortest interval, in milliseconds, allowed between client PINGs (faster clients are told to back off). Default 10 000. */
  readonly minClientPingIntervalMs?: number;
}

/** Options of {@link createGrpcServer}. */
export interface GrpcServerOptions {
  /** Services to serve (see {@link bindService}); more can be added with `add()` before `listen()`. */
  readonly services?: readonly BoundService[];
  /** Server interceptors, outermost first (auth, tracing, …). Default: none. */
  readonly interceptors?: readonly Interceptor[];
  /** TLS, or mutual TLS with `ca`. Default: plaintext (h2c). */
  readonly tls?: ServerTlsOptions;
  /** Keepalive settings; on by default with the documented values. */
  readonly keepalive?: ServerKeepaliveOptions;
  /** Largest request message accepted, in bytes. Default 4 MiB (grpc-js' default). */
  readonly maxReceiveMessageBytes?: number;
  /** Request validation. Default: `@sluice/contracts`' field rules; `false` turns it off. */
  readonly validate?: RequestValidator | false;
  /** Extra grpc-js server options (`grpc.*` channel arguments); they win over the above. */
  readonly grpcOptions?: grpc.ServerOptions;
}

/** A grpc-js server serving protobuf-es services. */
export interface GrpcServer {
  /** Adds a service (before `listen()`). */
  add<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): this;
  /**
   * Binds and starts serving.
   * @param address `host:port`; port 0 picks a free one. Default `127.0.0.1:0`.
   * @returns the bound port.
   */
  listen(address?: string): Promise<number>;
  /**
   * Stops accepting calls and waits for in-flight ones, then forces the rest closed.
   * @param graceMs milliseconds to wait for in-flight calls. Default 10 000.
   */
  shutdown(graceMs?: number): Promise<void>;
  /** The underlying grpc-js server (for health services, reflection, …). */
  readonly server: grpc.Server;
}

/** Keepalive defaults of servers (milliseconds), documented in the README. */
export const SERVER_KEEPALIVE_DEFAULTS = Object.freeze({
  timeMs: 60_000,
  timeoutMs: 20_000,
  minClientPingIntervalMs: 10_000,
});

/**
 * Creates a gRPC server on grpc-js: standard gRPC over HTTP/2, for
 * service-to-service calls. Deadlines, errors and validation as described
 * in the package README.
 *
 * @example
 * ```ts
 * const server = createGrpcServer({ interceptors: [tracingInterceptor()] });
 * server.add(inventoryV1.InventoryService, inventoryImpl);
 * const port = await server.listen('127.0.0.1:50051');
 * ```
 */
export function createGrpcServer(options: GrpcServerOptions = {}): GrpcServer {
  const ka = { ...SERVER_KEEPALIVE_DEFAULTS, ...options.keepalive };
  const server = new grpc.Server({
    'grpc.keepalive_time_ms': ka.timeMs,
    'grpc.keepalive_timeout_ms': ka.timeoutMs,
    'grpc.http2.min_ping_interval_without_data_ms': ka.minClientPingIntervalMs,
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    ...options.grpcOptions,
  });
  const adapterOptions = {
    ...(options.interceptors ? { interceptors: options.interceptors } : {}),
    ...(options.validate === undefined ? {} : { validate: options.validate }),
  };
  const addBound = (bound: BoundService) => {
    const { definition, implementation } = grpcServiceDefinition(bound, adapterOptions);
    server.addService(definition, implementation);
  };
  for (const b of options.services ?? []) addBound(b);

  const credentials = () => {
    const tls = options.tls;
    if (tls === undefined) return grpc.ServerCredentials.createInsecure();
    const ca = tls.ca === undefined ? null : Buffer.from(tls.ca);
    return grpc.ServerCredentials.createSsl(
      ca,
      [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }],
      tls.requireClientCert ?? ca !== null,
    );
  };

  const api: GrpcServer = {
    server,
    add(service, impl) {
      addBound(bindService(service, impl));
      return api as never;
    },
    listen(address = '127.0.0.1:0') {
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(address, credentials(), (err, port) => (err ? reject(err) : resolve(port)));
      });
    },
    shutdown(graceMs = 10_000) {
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
  return api;
}
