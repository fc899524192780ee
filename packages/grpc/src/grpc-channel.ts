import * as grpc from '@grpc/grpc-js';

/** TLS of a client. PEM strings or buffers. */
export interface ClientTlsOptions {
  /** CA certificates that sign the server's certificate (PEM). Default: the system roots. */
  readonly ca?: string | Buffer;
  /** The client's certificate chain, for mutual TLS (PEM). */
  readonly cert?: string | Buffer;
  /** The client's private key, for mutual TLS (PEM). */
  readonly key?: string | Buffer;
  /** Name to check the server certificate against, when it differs from the address' host. */
  readonly serverName?: string;
}

/** Client keepalive (HTTP/2 PING). */
export interface ClientKeepaliveOptions {
  /** Milliseconds between PINGs. Default 30 000 (servers must allow it: grpc-go's default minimum is 5 min). */
  readonly timeMs?: number;
  /** Milliseconds to wait for a PING ack before the connection counts as dead. Default 10 000. */
  readonly timeoutMs?: number;
  /** Also PING with no call in flight, so idle connections are kept and dead ones noticed. Default `true`. */
  readonly permitWithoutCalls?: boolean;
}

/** Options of {@link createGrpcChannel}. */
export interface GrpcChannelOptions {
  /** `host:port` of the server (or any grpc-js target, e.g. `dns:///inventory:50051`). */
  readonly address: string;
  /** TLS (and mutual TLS with `cert` + `key`). Default: plaintext (h2c). */
  readonly tls?: ClientTlsOptions;
  /** Keepalive settings; on by default with the documented values. */
  readonly keepalive?: ClientKeepaliveOptions;
  /** Largest response message accepted, in bytes. Default 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Milliseconds before the first reconnect attempt after a connection is lost. Default 100. */
  readonly initialReconnectBackoffMs?: number;
  /** Longest wait, in milliseconds, between reconnect attempts. Default 5 000. */
  readonly maxReconnectBackoffMs?: number;
  /** Extra grpc-js channel options (`grpc.*`); they win over the above. */
  readonly grpcOptions?: grpc.ChannelOptions;
}

/**
 * One HTTP/2 connection (grpc-js channel) to a server, shared by every typed
 * client made on it. It reconnects by itself after the server restarts.
 */
export interface GrpcChannel {
  /** The target it connects to. */
  readonly address: string;
  /** The grpc-js client that carries the calls. */
  readonly client: grpc.Client;
  /** Closes the connection; calls in flight fail with CANCELLED / UNAVAILABLE. */
  close(): void;
}

/** Keepalive defaults of clients (milliseconds), documented in the README. */
export const CLIENT_KEEPALIVE_DEFAULTS = Object.freeze({
  timeMs: 30_000,
  timeoutMs: 10_000,
  permitWithoutCalls: true,
});

/**
 * Opens a channel to a gRPC server.
 *
 * @example
 * ```ts
 * const channel = createGrpcChannel({ address: '127.0.0.1:50051' });
 * const inventory = createGrpcClient(inventoryV1.InventoryService, channel);
 * ```
 */
export function createGrpcChannel(options: GrpcChannelOptions): GrpcChannel {
  const ka = { ...CLIENT_KEEPALIVE_DEFAULTS, ...options.keepalive };
  const tls = options.tls;
  const credentials =
    tls === undefined
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(
          tls.ca === undefined ? null : Buffer.from(tls.ca),
          tls.key === undefined ? null : Buffer.from(tls.key),
          tls.cert === undefined ? null : Buffer.from(tls.cert),
        );
  const client = new grpc.Client(options.address, credentials, {
    'grpc.keepalive_time_ms': ka.timeMs,
    'grpc.keepalive_timeout_ms': ka.timeoutMs,
    'grpc.keepalive_permit_without_calls': ka.permitWithoutCalls ? 1 : 0,
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    'grpc.initial_reconnect_backoff_ms': options.initialReconnectBackoffMs ?? 100,
    'grpc.max_reconnect_backoff_ms': options.maxReconnectBackoffMs ?? 5_000,
    ...(tls?.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': tls.serverName }),
    ...options.grpcOptions,
  });
  return { address: options.address, client, close: () => client.close() };
}
