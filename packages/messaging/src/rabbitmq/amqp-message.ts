import type { Message, Options } from 'amqplib';
import type { Priority } from '../transport.js';
import { AMQP_PRIORITY, priorityOf } from './topology-names.js';

/**
 * How a message travels over AMQP: the body as-is, the id as `message-id`,
 * the priority as the AMQP `priority` property, persistent (delivery mode 2),
 * the caller's string headers unchanged, and the transport's own bookkeeping
 * in `x-sluice-*` headers (which callers may not set).
 */
export const SluiceHeader = {
  /** Attempt number of the next delivery of this copy (absent = 1). */
  ATTEMPT: 'x-sluice-attempt',
  /** Publish time, epoch ms. */
  PUBLISHED_AT: 'x-sluice-published-at',
  /** Due time, epoch ms (scheduled delivery and delayed retries). */
  DELIVER_AT: 'x-sluice-deliver-at',
  /** Ordering key. */
  KEY: 'x-sluice-key',
  /** Dead letters only: the topic, group, error, reason, attempts and time. */
  TOPIC: 'x-sluice-topic',
  GROUP: 'x-sluice-group',
  ERROR: 'x-sluice-error',
  REASON: 'x-sluice-reason',
  ATTEMPTS: 'x-sluice-attempts',
  DEAD_LETTERED_AT: 'x-sluice-dead-lettered-at',
} as const;

/** True for header names reserved by the transport or the broker (never passed through to handlers). */
export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    lower.startsWith('x-sluice-') ||
    lower === 'x-death' ||
    lower === 'x-delivery-count' ||
    lower.startsWith('x-first-death-') ||
    lower.startsWith('x-last-death-')
  );
}

/** The transport's view of one AMQP message. */
export interface DecodedMessage {
  readonly id: string;
  readonly body: Uint8Array;
  /** The caller's headers only. */
  readonly headers: Record<string, string>;
  readonly priority: Priority;
  readonly orderingKey: string | undefined;
  readonly publishedAt: Date;
  /** Epoch ms, or undefined when due at once. */
  readonly deliverAt: number | undefined;
  /** The `x-sluice-attempt` header (1 when absent). */
  readonly attemptHeader: number;
  /** Quorum queues' count of earlier deliveries that were returned (crash, nack-requeue); 0 on classic queues. */
  readonly deliveryCount: number;
}

function numberHeader(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value !== '' && Number.isFinite(Number(value))) return Number(value);
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

function stringHeader(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

/** Decodes an AMQP message into the transport's fields. */
export function decodeMessage(message: Message): DecodedMessage {
  const raw = (message.properties.headers ?? {}) as Record<string, unknown>;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (isReservedHeader(name)) continue;
    const text = stringHeader(value);
    if (text !== undefined) headers[name] = text;
  }
  const publishedAt = numberHeader(raw[SluiceHeader.PUBLISHED_AT]);
  return {
    id: stringHeader(message.properties.messageId) ?? '',
    body: message.content,
    headers,
    priority: priorityOf(message.properties.priority as number | undefined),
    orderingKey: stringHeader(raw[SluiceHeader.KEY]),
    publishedAt: new Date(publishedAt ?? Date.now()),
    deliverAt: numberHeader(raw[SluiceHeader.DELIVER_AT]),
    attemptHeader: Math.max(1, numberHeader(raw[SluiceHeader.ATTEMPT]) ?? 1),
    deliveryCount: Math.max(0, numberHeader(raw['x-delivery-count']) ?? 0),
  };
}

/** Fields needed to publish one copy of a message. */
export interface EncodeFields {
  readonly id: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly priority: Priority;
  readonly orderingKey: string | undefined;
  readonly publishedAt: number;
  readonly deliverAt: number | undefined;
  /** Attempt number of the next delivery; omitted from the headers when 1. */
  readonly attempt: number;
  /** More `x-sluice-*` headers (dead letters). */
  readonly extra?: Readonly<Record<string, string | number>>;
}

/** AMQP publish options of one copy: persistent, with id, priority and headers. */
export function encodeOptions(fields: EncodeFields): Options.Publish {
  const headers: Record<string, string | number> = { ...fields.headers };
  headers[SluiceHeader.PUBLISHED_AT] = fields.publishedAt;
  if (fields.attempt !== 1) headers[SluiceHeader.ATTEMPT] = fields.attempt;
  if (fields.deliverAt !== undefined) headers[SluiceHeader.DELIVER_AT] = fields.deliverAt;
  if (fields.orderingKey !== undefined) headers[SluiceHeader.KEY] = fields.orderingKey;
  if (fields.extra) Object.assign(headers, fields.extra);
  return {
    persistent: true,
    messageId: fields.id,
    priority: AMQP_PRIORITY[fields.priority],
    headers,
  };
}

/** A Buffer view of a Uint8Array without copying. */
export function toBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
