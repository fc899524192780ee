/**
 * Reads NATS transport options from a `nats://` URL's query string, so a URL
 * alone (e.g. in a child process or an environment variable) can name the
 * namespace: `nats://127.0.0.1:4222?prefix=shop&partitions=32`.
 */
import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import type { NatsTransportOptions } from './nats-options.js';

const INTEGER_PARAMS = [
  'partitions',
  'idlePollMs',
  'duplicateWindowMs',
  'defaultLeaseMs',
  'connectTimeoutMs',
] as const;

function invalid(url: string, why: string): Error {
  return messagingError(
    'invalid_argument',
    MessagingReasons.INVALID_URL,
    `invalid transport URL ${JSON.stringify(url)}: ${why}`,
    [{ field: 'url', message: why }],
  );
}

/**
 * The options a `nats://` URL carries: the server address (without the query)
 * and `prefix`, `partitions`, `idlePollMs`, `duplicateWindowMs`,
 * `defaultLeaseMs`, `connectTimeoutMs`, `storage` parameters. Unknown
 * parameters are refused (`MESSAGING_INVALID_URL`).
 */
export function natsOptionsFromUrl(url: string): NatsTransportOptions {
  const q = url.indexOf('?');
  const out: { -readonly [K in keyof NatsTransportOptions]?: NatsTransportOptions[K] } = {
    url: q >= 0 ? url.slice(0, q) : url,
  };
  const params = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
  for (const [key, value] of params) {
    if (key === 'prefix') out.prefix = value;
    else if (key === 'storage') {
      if (value !== 'file' && value !== 'memory') throw invalid(url, 'storage must be file or memory');
      out.storage = value;
    } else if ((INTEGER_PARAMS as readonly string[]).includes(key)) {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 1) throw invalid(url, `${key} must be a positive integer`);
      out[key as (typeof INTEGER_PARAMS)[number]] = n;
    } else throw invalid(url, `unknown parameter ${key}`);
  }
  return out;
}
