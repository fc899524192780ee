import { type FieldViolation, SluiceError } from '@sluice/errors';
import { MessagingReasons } from '../reasons.js';
import type { OutgoingMessage } from '../transport.js';
import { isReservedHeader } from './amqp-message.js';

/** Limits the RabbitMQ transport applies to an outgoing message. */
export interface OutgoingLimits {
  /** Longest wait a keyed message may ask for with `deliverAt`, in ms (the consumer holds it). */
  readonly maxKeyedHoldMs: number;
  /** Epoch ms now. */
  readonly now: number;
}

/**
 * RabbitMQ's own checks of a batch, after the shared {@link assertPublishable}
 * (so still before anything is sent): AMQP's `message-id` is a short string
 * (at most 255 bytes); `x-sluice-*` and the broker's `x-death` headers are
 * reserved (`invalid_argument`); and two combinations are refused
 * (`unimplemented`, `MESSAGING_UNSUPPORTED`): an ordering key with a non-normal
 * priority (keyed messages keep publish order within their key), and a keyed
 * `deliverAt` further ahead than `maxKeyedHoldMs` (the consumer holds it).
 */
export function validateOutgoing(messages: readonly OutgoingMessage[], limits: OutgoingLimits): void {
  const violations: FieldViolation[] = [];
  messages.forEach((m, i) => {
    const at = `messages.${i}`;
    if (Buffer.byteLength(m.id) > 255) {
      violations.push({ field: `${at}.id`, message: 'must be at most 255 bytes (AMQP message-id)' });
    }
    for (const name of Object.keys(m.headers ?? {})) {
      if (isReservedHeader(name)) {
        violations.push({
          field: `${at}.headers.${name}`,
          message: 'x-sluice-* and broker x-death headers are reserved',
        });
      }
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
