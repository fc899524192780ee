/**
 * Header names the NATS transport stores beside a message, and the checks on
 * user headers. User headers travel as NATS headers unchanged; names starting
 * with `Nats-` (the server's) or `Sluice-` (ours) are reserved.
 */
import type { FieldViolation } from '@sluice/errors';

/** Internal header names (all start with `Sluice-`). */
export const H = {
  /**
   * The message id, where the `Nats-Msg-Id` differs from it (scheduled moves
   * `<id>:due`, replays `<id>:replay:<seq>`); otherwise the id is the `Nats-Msg-Id`.
   */
  id: 'Sluice-Id',
  /** The ordering key. */
  key: 'Sluice-Key',
  /** Priority of a keyed or dead-lettered message (`high`/`normal`/`low`); unkeyed ones carry it in their subject. */
  priority: 'Sluice-Priority',
  /** When a scheduled message becomes due, ms since the epoch. */
  deliverAt: 'Sluice-Deliver-At',
  /** When the message was first published, ms since the epoch (kept across scheduled moves and replays). */
  publishedAt: 'Sluice-Published-At',
  /** A replayed message is for this group only; other groups acknowledge it unseen. */
  group: 'Sluice-Group',
  /** DLQ: the topic. */
  topic: 'Sluice-Topic',
  /** DLQ: the last error (percent-encoded, as header values cannot hold line breaks). */
  error: 'Sluice-Error',
  /** DLQ: the failure reason. */
  reason: 'Sluice-Reason',
  /** DLQ: deliveries made before dead-lettering. */
  attempts: 'Sluice-Attempts',
  /** DLQ: when it was dead-lettered, ms since the epoch. */
  deadLetteredAt: 'Sluice-Dead-Lettered-At',
} as const;

/** Whether a header name is reserved for the server or the transport. */
export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('nats-') || lower.startsWith('sluice-');
}

/** Header names: printable ASCII without `:` or spaces (RFC 7230 token-ish, what NATS accepts). */
const HEADER_NAME = /^[!-9;-~]+$/;

/**
 * Violations of user headers of message `index` (empty when valid): names must
 * be printable ASCII without `:`, not reserved; values must not contain CR or LF.
 */
export function headerViolations(
  headers: Readonly<Record<string, string>> | undefined,
  field: string,
): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (headers === undefined) return out;
  if (headers === null || typeof headers !== 'object') {
    return [{ field, message: 'must be an object of string headers' }];
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) {
      out.push({
        field: `${field}.${name}`,
        message: 'header name must be printable ASCII without ":" or spaces',
      });
    } else if (isReservedHeader(name)) {
      out.push({
        field: `${field}.${name}`,
        message: 'header names starting with Nats- or Sluice- are reserved',
      });
    } else if (typeof value !== 'string') {
      out.push({ field: `${field}.${name}`, message: 'header value must be a string' });
    } else if (/[\r\n]/.test(value)) {
      out.push({ field: `${field}.${name}`, message: 'header value must not contain line breaks' });
    }
  }
  return out;
}
