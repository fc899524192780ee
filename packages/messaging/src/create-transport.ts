import type { EmbeddedTransportOptions } from './embedded/embedded-transport.js';
import { messagingError } from './message-validation.js';
import type { NatsTransportOptions } from './nats/nats-options.js';
import type { PostgresTransportOptions } from './postgres/postgres-options.js';
import { MessagingReasons } from './reasons.js';
import type { Transport } from './transport.js';

/** The transports {@link createTransport} knows, by URL scheme. */
export type TransportKind = 'embedded' | 'postgres' | 'nats' | 'rabbitmq';

/**
 * Options of {@link createTransport}, one object per transport; only the one
 * matching the URL's scheme is read. Each transport documents its own fields.
 */
export interface CreateTransportOptions {
  /** Options of the embedded (SQLite) transport, for `sqlite:` / `embedded:` URLs. */
  readonly embedded?: Partial<Omit<EmbeddedTransportOptions, 'path'>>;
  /**
   * Options of the PostgreSQL transport, for `postgres://` / `postgresql://` URLs
   * (they override the URL's `?schema=`, `?poolSize=`… parameters).
   */
  readonly postgres?: Partial<Omit<PostgresTransportOptions, 'connectionString'>>;
  /** Options of the NATS JetStream transport, for `nats://` URLs (override the URL's query parameters). */
  readonly nats?: Omit<NatsTransportOptions, 'url'>;
  /** Options of the RabbitMQ transport, for `amqp://` / `amqps://` URLs. */
  readonly rabbitmq?: Readonly<Record<string, unknown>>;
}

const SCHEMES: Readonly<Record<string, TransportKind>> = {
  'sqlite:': 'embedded',
  'embedded:': 'embedded',
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'nats:': 'nats',
  'amqp:': 'rabbitmq',
  'amqps:': 'rabbitmq',
};

function invalidUrl(url: unknown, why: string): Error {
  return messagingError(
    'invalid_argument',
    MessagingReasons.INVALID_URL,
    `invalid transport URL ${JSON.stringify(url)}: ${why}`,
    [{ field: 'url', message: why }],
  );
}

/**
 * Which transport a URL names, after checking that it is well formed.
 * Throws `invalid_argument` / `MESSAGING_INVALID_URL` otherwise.
 *
 * - `sqlite:<path>` or `embedded:<path>` (`sqlite:./data/bus.db`, `sqlite:///abs/bus.db`): embedded
 * - `postgres://…`, `postgresql://…`: PostgreSQL
 * - `nats://host:port`: NATS JetStream
 * - `amqp://…`, `amqps://…`: RabbitMQ
 */
export function transportKindOf(url: string): TransportKind {
  if (typeof url !== 'string' || url.length === 0) throw invalidUrl(url, 'expected a non-empty string');
  const m = /^([a-z][a-z0-9+.-]*:)(.*)$/i.exec(url);
  if (!m) throw invalidUrl(url, 'no scheme (expected sqlite:, postgres://, nats:// or amqp://)');
  const scheme = (m[1] as string).toLowerCase();
  const kind = SCHEMES[scheme];
  if (kind === undefined)
    throw invalidUrl(url, `unknown scheme ${scheme} (expected sqlite:, postgres://, nats:// or amqp://)`);
  if (kind === 'embedded') {
    if (embeddedPath(url).length === 0) throw invalidUrl(url, 'no database file path');
    return kind;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidUrl(url, 'not a valid URL');
  }
  if (parsed.hostname.length === 0) throw invalidUrl(url, 'no host');
  return kind;
}

/**
 * The file path (and query parameters) of an embedded URL:
 * `sqlite:./data/bus.db?synchronous=full` → `{ path: './data/bus.db', params }`.
 * `sqlite:///abs/bus.db` and `sqlite://localhost/abs/bus.db` give `/abs/bus.db`.
 */
export function parseEmbeddedUrl(url: string): { path: string; params: URLSearchParams } {
  const rest = url.slice(url.indexOf(':') + 1);
  const q = rest.indexOf('?');
  let path = q >= 0 ? rest.slice(0, q) : rest;
  const params = new URLSearchParams(q >= 0 ? rest.slice(q + 1) : '');
  if (path.startsWith('//')) {
    const afterHost = path.indexOf('/', 2);
    const host = afterHost >= 0 ? path.slice(2, afterHost) : path.slice(2);
    if (host !== '' && host !== 'localhost') throw invalidUrl(url, 'an embedded URL names a local file');
    path = afterHost >= 0 ? path.slice(afterHost) : '';
  }
  return { path: decodeURIComponent(path), params };
}

/** Embedded options given as URL query parameters (`?synchronous=full&maxMessageBytes=…&doorbell=false`). */
function embeddedParams(
  url: string,
  params: URLSearchParams,
): Partial<Omit<EmbeddedTransportOptions, 'path'>> {
  const out: { -readonly [K in keyof EmbeddedTransportOptions]?: EmbeddedTransportOptions[K] } = {};
  for (const [key, value] of params) {
    const n = Number(value);
    switch (key) {
      case 'synchronous':
        if (value !== 'normal' && value !== 'full')
          throw invalidUrl(url, 'synchronous must be normal or full');
        out.synchronous = value;
        break;
      case 'doorbell':
        if (value !== 'true' && value !== 'false') throw invalidUrl(url, 'doorbell must be true or false');
        out.doorbell = value === 'true';
        break;
      case 'busyTimeoutMs':
      case 'maxMessageBytes':
      case 'minPollMs':
      case 'maxPollMs':
        if (!Number.isInteger(n) || n < 1) throw invalidUrl(url, `${key} must be a positive integer`);
        out[key] = n;
        break;
      default:
        throw invalidUrl(url, `unknown parameter ${key}`);
    }
  }
  return out;
}

function embeddedPath(url: string): string {
  return parseEmbeddedUrl(url).path;
}

/**
 * Opens the transport a URL names. Each transport's module (and its client
 * library: better-sqlite3, pg, @nats-io/*, amqplib) is loaded only when its
 * scheme is used, so a service on one transport never loads the others.
 *
 * @example
 * ```ts
 * const transport = await createTransport('sqlite:./data/bus.db');
 * await transport.publish('orders', [{ id: 'm-1', body: new TextEncoder().encode('{}') }]);
 * ```
 * @throws `invalid_argument` / `MESSAGING_INVALID_URL` for an unknown or malformed URL;
 *   `unimplemented` / `MESSAGING_UNSUPPORTED` for a transport not built into this version.
 */
export async function createTransport(url: string, options: CreateTransportOptions = {}): Promise<Transport> {
  const kind = transportKindOf(url);
  switch (kind) {
    // --- embedded ------------------------------------------------------------
    case 'embedded': {
      const { createEmbeddedTransport } = await import('./embedded/embedded-transport.js');
      const { path, params } = parseEmbeddedUrl(url);
      return createEmbeddedTransport({ ...embeddedParams(url, params), ...options.embedded, path });
    }
    // --- postgres ------------------------------------------------------------
    case 'postgres': {
      const [{ createPostgresTransport }, { parsePostgresUrl }] = await Promise.all([
        import('./postgres/postgres-transport.js'),
        import('./postgres/postgres-options.js'),
      ]);
      return createPostgresTransport({ ...parsePostgresUrl(url), ...options.postgres });
    }
    // --- nats ----------------------------------------------------------------
    case 'nats': {
      const [{ createNatsTransport }, { natsOptionsFromUrl }] = await Promise.all([
        import('./nats/nats-transport.js'),
        import('./nats/nats-url.js'),
      ]);
      return createNatsTransport({ ...natsOptionsFromUrl(url), ...options.nats });
    }
    // --- rabbitmq ------------------------------------------------------------
    case 'rabbitmq': {
      const { createRabbitMqTransport } = await import('./rabbitmq/rabbitmq-transport.js');
      return createRabbitMqTransport({ ...options.rabbitmq, url });
    }
  }
}
