import { type FieldViolation, SluiceError } from '@sluice/errors';
import { MessagingReasons } from '../reasons.js';
import type { OutgoingMessage } from '../transport.js';
import { isReservedHeader } from './amqp-message.js';

const PRIORITIES = new Set(['high', 'normal', 'low']);

/** Limits the RabbitMQ transport applies to an outgoing message. */
export interface OutgoingLimits {
  /** Largest body, in bytes. */
  readonly maxMessageBytes: number;
  /** Longest wait a keyed message may ask for with `deliverAt`, in ms (the consumer holds it). */
  readonly maxKeyedHoldMs: number;
  /** Epoch ms now. */
  readonly now: number;
}

/**
 * Checks a whole batch before anything is sent: bad fields → `invalid_argument`
 * (`MESSAGING_INVALID_MESSAGE`) with every violation; a body over the limit →
 * `MESSAGING_MESSAGE_TOO_LARGE`; a combination RabbitMQ cannot honour →
 * `unimplemented` (`MESSAGING_UNSUPPORTED`).
 */
export function validateOutgoing(messages: readonly OutgoingMessage[], limits: OutgoingLimits): void {
  if (!Array.isArray(messages)) {
    throw invalid([{ field: 'messages', message: 'must be an array' }]);
  }
  const violations: FieldViolation[] = [];
  messages.forEach((m, i) => {
    const at = `messages.${i}`;
    if (m === null || typeof m !== 'object') {
      violations.push({ field: at, message: 'must be an object' });
      return;
    }
    // AMQP's message-id is a short string: at most 255 bytes.
    if (typeof m.id !== 'string' || m.id === '' || Buffer.byteLength(m.id) > 255) {
      violations.push({ field: `${at}.id`, message: 'must be a non-empty string of at most 255 bytes' });
    }
    if (!(m.body instanceof Uint8Array)) {
      violations.push({ field: `${at}.body`, message: 'must be a Uint8Array' });
    } else if (m.body.byteLength > limits.maxMessageBytes) {
      throw new SluiceError({
        code: 'invalid_argument',
        reason: MessagingReasons.MESSAGE_TOO_LARGE,
        message: `message ${String(m.id)} is ${m.body.byteLength} bytes; the RabbitMQ transport accepts at most ${limits.maxMessageBytes}`,
        details: {
          violations: [{ field: `${at}.body`, message: `larger than ${limits.maxMessageBytes} bytes` }],
        },
      });
    }
    if (m.headers !== undefined) {
      if (m.headers === null || typeof m.headers !== 'object') {
        violations.push({ field: `${at}.headers`, message: 'must be an object of strings' });
      } else {
        for (const [name, value] of Object.entries(m.headers)) {
          if (typeof value !== 'string') {
            violations.push({ field: `${at}.headers.${name}`, message: 'must be a string' });
          }
          if (isReservedHeader(name)) {
            violations.push({
              field: `${at}.headers.${name}`,
              message: 'x-sluice-* and broker x-death headers are reserved',
            });
          }
        }
      }
    }
    if (m.priority !== undefined && !PRIORITIES.has(m.priority)) {
      violations.push({ field: `${at}.priority`, message: 'must be high, normal or low' });
    }
    if (
      m.deliverAt !== undefined &&
      !(m.deliverAt instanceof Date && Number.isFinite(m.deliverAt.getTime()))
    ) {
      violations.push({ field: `${at}.deliverAt`, message: 'must be a valid Date' });
    }
    if (
      m.orderingKey !== undefined &&
      (typeof m.orderingKey !== 'string' || m.orderingKey === '' || m.orderingKey.length > 200)
    ) {
      violations.push({
        field: `${at}.orderingKey`,
        message: 'must be a non-empty string of at most 200 characters',
      });
    }
  });
  if (violations.length > 0) throw invalid(violations);
  for (const m of messages) {
    if (m.orderingKey === undefined) continue;
    if (m.priority !== undefined && m.priority !== 'normal') {
      throw unsupported(
        'priority',
        `message ${m.id}: an ordering key and a ${m.priority} priority cannot be combined on RabbitMQ (keyed messages keep publish order within their key)`,
      );
    }
    if (m.deliverAt !== undefined && m.deliverAt.getTime() - limits.now > limits.maxKeyedHoldMs) {
      throw unsupported(
        'deliverAt',
        `message ${m.id}: a keyed message may be scheduled at most ${limits.maxKeyedHoldMs} ms ahead on RabbitMQ (its consumer holds it to keep the key in order)`,
      );
    }
  }
}

function invalid(violations: FieldViolation[]): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: MessagingReasons.INVALID_MESSAGE,
    message: `invalid message: ${violations.map((v) => `${v.field} ${v.message}`).join('; ')}`,
    details: { violations },
  });
}

/** `unimplemented` (`MESSAGING_UNSUPPORTED`) naming the capability. */
export function unsupported(capability: string, message: string): SluiceError {
  return new SluiceError({
    code: 'unimplemented',
    reason: MessagingReasons.UNSUPPORTED,
    message,
    details: { metadata: { capability, transport: 'rabbitmq' } },
  });
}
