import { type ErrorCode, type FieldViolation, SluiceError } from '@sluice/errors';
import { MessagingReasons } from './reasons.js';
import type { OutgoingMessage, Priority, TransportCapabilities } from './transport.js';

/**
 * Topic and group names every transport accepts: 1–200 characters, letters,
 * digits, `.`, `_` and `-`, starting with a letter or digit. The common subset
 * of SQLite, PostgreSQL, NATS subjects and AMQP names (no wildcards `*` `>` `#`,
 * no spaces).
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

const PRIORITIES: ReadonlySet<string> = new Set<Priority>(['high', 'normal', 'low']);

/** Builds a `SluiceError` with a messaging reason. */
export function messagingError(
  code: ErrorCode,
  reason: string,
  message: string,
  violations?: readonly FieldViolation[],
  cause?: unknown,
): SluiceError {
  return new SluiceError({
    code,
    reason,
    message,
    ...(violations === undefined ? {} : { details: { violations } }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The error every operation on a closed transport or consumer fails with. */
export function closedError(what: string): SluiceError {
  return messagingError('failed_precondition', MessagingReasons.CLOSED, `${what} is closed`);
}

/**
 * Throws `invalid_argument` / `MESSAGING_INVALID_MESSAGE` when `name` is not a
 * valid topic or group name (see {@link NAME_PATTERN}).
 */
export function assertName(kind: 'topic' | 'group' | 'queue', name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      `invalid ${kind} name ${JSON.stringify(name)}: 1-200 of [A-Za-z0-9._-], starting with a letter or digit`,
      [{ field: kind, message: 'must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$' }],
    );
  }
}

/**
 * Checks a publish call before anything is sent, so a bad batch changes
 * nothing: the topic name, every message's fields (`invalid_argument` /
 * `MESSAGING_INVALID_MESSAGE`, listing every violation), body sizes
 * (`invalid_argument` / `MESSAGING_MESSAGE_TOO_LARGE`) and capabilities the
 * transport lacks (`unimplemented` / `MESSAGING_UNSUPPORTED`). Transports call
 * it first thing in `publish`.
 *
 * `now` (epoch ms) decides whether a `deliverAt` is in the future: a past
 * `deliverAt` means "at once" and is accepted even without delayed delivery.
 */
export function assertPublishable(
  topic: unknown,
  messages: readonly OutgoingMessage[],
  capabilities: TransportCapabilities,
  now: number = Date.now(),
): void {
  assertName('topic', topic);
  if (!Array.isArray(messages)) {
    throw messagingError('invalid_argument', MessagingReasons.INVALID_MESSAGE, 'messages must be an array', [
      { field: 'messages', message: 'must be an array' },
    ]);
  }
  const violations: FieldViolation[] = [];
  const unsupported: string[] = [];
  const tooLarge: FieldViolation[] = [];
  messages.forEach((m: OutgoingMessage | undefined, i) => {
    const at = `messages.${i}`;
    if (typeof m !== 'object' || m === null) {
      violations.push({ field: at, message: 'must be an object' });
      return;
    }
    if (typeof m.id !== 'string' || m.id.length === 0 || m.id.length > 256)
      violations.push({ field: `${at}.id`, message: 'must be a string of 1-256 characters' });
    if (!(m.body instanceof Uint8Array))
      violations.push({ field: `${at}.body`, message: 'must be a Uint8Array' });
    else if (m.body.byteLength > capabilities.maxMessageBytes)
      tooLarge.push({
        field: `${at}.body`,
        message: `${m.body.byteLength} bytes is over the limit of ${capabilities.maxMessageBytes}`,
      });
    if (m.headers !== undefined) {
      if (typeof m.headers !== 'object' || m.headers === null)
        violations.push({ field: `${at}.headers`, message: 'must be an object of strings' });
      else
        for (const [k, v] of Object.entries(m.headers))
          if (typeof v !== 'string' || k.length === 0)
            violations.push({ field: `${at}.headers.${k}`, message: 'must be a string' });
    }
    if (m.priority !== undefined) {
      if (!PRIORITIES.has(m.priority))
        violations.push({ field: `${at}.priority`, message: 'must be high, normal or low' });
      else if (m.priority !== 'normal' && capabilities.priority === 'unsupported')
        unsupported.push(`${at}.priority`);
    }
    if (m.deliverAt !== undefined) {
      if (!(m.deliverAt instanceof Date) || Number.isNaN(m.deliverAt.getTime()))
        violations.push({ field: `${at}.deliverAt`, message: 'must be a valid Date' });
      else if (m.deliverAt.getTime() > now && capabilities.delayedDelivery === 'unsupported')
        unsupported.push(`${at}.deliverAt`);
    }
    if (m.orderingKey !== undefined) {
      if (typeof m.orderingKey !== 'string' || m.orderingKey.length === 0 || m.orderingKey.length > 256)
        violations.push({ field: `${at}.orderingKey`, message: 'must be a string of 1-256 characters' });
      else if (capabilities.orderingKey === 'unsupported') unsupported.push(`${at}.orderingKey`);
    }
  });
  if (violations.length > 0) {
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      `invalid message: ${violations.map((v) => `${v.field}: ${v.message}`).join('; ')}`,
      violations,
    );
  }
  if (tooLarge.length > 0) {
    throw messagingError(
      'invalid_argument',
      MessagingReasons.MESSAGE_TOO_LARGE,
      `message too large: ${tooLarge.map((v) => `${v.field}: ${v.message}`).join('; ')}`,
      tooLarge,
    );
  }
  if (unsupported.length > 0) {
    throw messagingError(
      'unimplemented',
      MessagingReasons.UNSUPPORTED,
      `this transport does not support ${unsupported.join(', ')}`,
      unsupported.map((field) => ({ field, message: 'not supported by this transport' })),
    );
  }
}

/**
 * Checks a numeric option (`prefetch`, `leaseMs`, `maxMessageBytes`…): an
 * integer from 1 to `max`, else `invalid_argument` / `MESSAGING_INVALID_MESSAGE`
 * naming `field`. Returns it.
 */
export function positiveIntOption(field: string, value: unknown, max: number): number {
  if (!(Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max))
    throw messagingError('invalid_argument', MessagingReasons.INVALID_MESSAGE, `${field} must be 1..${max}`, [
      { field, message: `must be an integer from 1 to ${max}` },
    ]);
  return value as number;
}
