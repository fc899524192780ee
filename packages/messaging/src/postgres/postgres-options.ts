import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';

/** Options of `createPostgresTransport` (also readable from a `postgres://` URL, see {@link parsePostgresUrl}). */
export interface PostgresTransportOptions {
  /**
   * `postgres://user:password@host:port/database`. Query parameters other
   * than the transport's own (see {@link parsePostgresUrl}) go to `pg`.
   */
  readonly connectionString: string;
  /**
   * The schema holding the bus's tables (created with them if missing), a
   * lower-case SQL identifier. Every process using the same database and
   * schema shares the bus. Default `sluice_bus`.
   */
  readonly schema?: string;
  /**
   * Pooled connections (claims, group commits, DLQ and stats queries), plus
   * one dedicated LISTEN connection (and 2 for publishes with `asyncSettles`).
   * Default 5.
   */
  readonly poolSize?: number;
  /**
   * Largest body accepted, in bytes. Default 1 MiB (1 048 576), at most
   * 64 MiB: a body is one `bytea` value, sent and read whole.
   */
  readonly maxMessageBytes?: number;
  /**
   * Fallback poll interval of idle consumers, in ms: the latency bound when a
   * NOTIFY is lost (LISTEN connection down) and how often an idle consumer
   * looks for expired leases of consumers that died. Default 1 000.
   */
  readonly pollMs?: number;
  /** Use LISTEN/NOTIFY wake-ups (else consumers only poll, every `pollMs`). Default true. */
  readonly listen?: boolean;
  /**
   * Commit claims, acks, retries, dead letters and lease renewals with
   * `synchronous_commit=off` (on a pool of their own), so they do not wait
   * for the WAL flush (a backlog drain measured ~20 % faster while this was
   * written; end to end the benchmark shows it within noise). The price: a
   * crash of the database server (not of a client) may forget the last few
   * hundred ms of them, and those messages are delivered again (at-least-once;
   * the inbox absorbs it) — never lost. Publishes and DLQ replays always
   * commit durably. Default false: every commit is durable.
   */
  readonly asyncSettles?: boolean;
}

/** The schema used when none is given. */
export const DEFAULT_SCHEMA = 'sluice_bus';
/** Query parameters of a `postgres://` URL read by the transport (the rest go to `pg`). */
const OWN_PARAMS = ['schema', 'poolSize', 'maxMessageBytes', 'pollMs', 'listen', 'asyncSettles'] as const;

/** `invalid_argument` / `MESSAGING_INVALID_URL` naming the bad option. */
export function invalidUrl(field: string, why: string): Error {
  return messagingError(
    'invalid_argument',
    MessagingReasons.INVALID_URL,
    `postgres transport: ${field} ${why}`,
    [{ field, message: why }],
  );
}

/**
 * Splits a `postgres://…` URL into the transport's options and the
 * connection string for `pg`: `?schema=`, `?poolSize=`, `?maxMessageBytes=`,
 * `?pollMs=` and `?listen=true|false` are the transport's; any other parameter
 * (`sslmode`, `application_name`…) stays in the connection string.
 *
 * @example
 * ```ts
 * parsePostgresUrl('postgres://postgres@127.0.0.1:5432/test?schema=shop_bus');
 * // → { connectionString: 'postgres://postgres@127.0.0.1:5432/test', schema: 'shop_bus' }
 * ```
 */
export function parsePostgresUrl(url: string): PostgresTransportOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidUrl('url', 'is not a valid URL');
  }
  const out: { -readonly [K in keyof PostgresTransportOptions]?: PostgresTransportOptions[K] } = {};
  for (const key of OWN_PARAMS) {
    const value = parsed.searchParams.get(key);
    if (value === null) continue;
    parsed.searchParams.delete(key);
    if (key === 'schema') out.schema = value;
    else if (key === 'listen' || key === 'asyncSettles') {
      if (value !== 'true' && value !== 'false') throw invalidUrl(key, 'must be true or false');
      out[key] = value === 'true';
    } else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw invalidUrl(key, 'must be a positive integer');
      out[key] = n;
    }
  }
  out.connectionString = parsed.toString();
  return out as PostgresTransportOptions;
}
