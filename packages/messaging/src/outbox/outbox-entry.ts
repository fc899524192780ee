import type { EventEnvelope, EventRegistry } from '@sluice/contracts';
import type { FieldViolation } from '@sluice/errors';
import { checkEnvelope, encodeEnvelope, invalidEvent } from '../bus/event-codec.js';
import { messagingError, NAME_PATTERN } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import type { Priority } from '../transport.js';

/** One event to write to the outbox, with how to publish it. */
export interface OutboxEntry {
  readonly event: EventEnvelope;
  /** Topic to publish to. Default: the event's `type`. */
  readonly topic?: string;
  /**
   * Events with the same key are published, and then handled, in the order
   * they were added. Default: the event's `subject` (the aggregate id); none
   * when the event has no subject.
   */
  readonly orderingKey?: string;
  /** Default `normal`. */
  readonly priority?: Priority;
  /** Not delivered before this time (the transport's scheduled delivery). */
  readonly deliverAt?: Date;
  /** Extra string headers published with the event. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What `add` accepts: a bare envelope (all defaults) or an {@link OutboxEntry}. */
export type OutboxInput = EventEnvelope | OutboxEntry;

/** Options shared by both outboxes. */
export interface OutboxValidationOptions {
  /**
   * Event types known to the service: with a registry, `add` validates type,
   * version and `data` as the bus does at publish; without one, the envelope
   * alone is checked.
   */
  readonly registry?: EventRegistry;
  /** Largest encoded envelope, in bytes; a larger one is refused at `add` (`MESSAGING_MESSAGE_TOO_LARGE`). Default 1 MiB (1 048 576). */
  readonly maxMessageBytes?: number;
}

/** A validated outbox row, ready to insert. @internal */
export interface PreparedRow {
  readonly id: string;
  readonly topic: string;
  readonly orderingKey: string | null;
  readonly priority: Priority;
  readonly deliverAt: number | null;
  readonly envelope: string;
  readonly headers: string | null;
}

const PRIORITIES: ReadonlySet<string> = new Set(['high', 'normal', 'low']);
const DEFAULT_MAX_BYTES = 1024 * 1024;
const decoder = new TextDecoder();

const isEntry = (v: unknown): v is OutboxEntry =>
  typeof v === 'object' && v !== null && !('specversion' in v) && 'event' in v;

/**
 * Validates every input (nothing is written when one is bad: `invalid_argument`
 * / `MESSAGING_INVALID_MESSAGE` with every violation as `entries.<i>.<field>`,
 * or `MESSAGING_MESSAGE_TOO_LARGE`) and turns them into rows. @internal
 */
export function prepareRows(inputs: unknown, options: OutboxValidationOptions): PreparedRow[] {
  if (!Array.isArray(inputs))
    throw invalidEvent([
      { field: 'entries', message: 'must be an array of envelopes or { event, …options }' },
    ]);
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_BYTES;
  const violations: FieldViolation[] = [];
  const tooLarge: FieldViolation[] = [];
  const rows: PreparedRow[] = [];
  inputs.forEach((input: unknown, i) => {
    const at = `entries.${i}`;
    const entry: OutboxEntry = isEntry(input) ? input : { event: input as EventEnvelope };
    const before = violations.length;
    const checked = checkEnvelope(entry.event, options.registry);
    if (!checked.ok)
      for (const v of checked.violations)
        violations.push({ field: v.field ? `${at}.event.${v.field}` : `${at}.event`, message: v.message });
    const topic = entry.topic ?? (checked.ok ? checked.event.type : undefined);
    if (entry.topic !== undefined && (typeof topic !== 'string' || !NAME_PATTERN.test(topic)))
      violations.push({ field: `${at}.topic`, message: 'must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$' });
    if (
      entry.orderingKey !== undefined &&
      (typeof entry.orderingKey !== 'string' ||
        entry.orderingKey.length === 0 ||
        entry.orderingKey.length > 256)
    )
      violations.push({ field: `${at}.orderingKey`, message: 'must be a string of 1-256 characters' });
    if (entry.priority !== undefined && !PRIORITIES.has(entry.priority))
      violations.push({ field: `${at}.priority`, message: 'must be high, normal or low' });
    if (
      entry.deliverAt !== undefined &&
      (!(entry.deliverAt instanceof Date) || Number.isNaN(entry.deliverAt.getTime()))
    )
      violations.push({ field: `${at}.deliverAt`, message: 'must be a valid Date' });
    if (entry.headers !== undefined) {
      if (typeof entry.headers !== 'object' || entry.headers === null || Array.isArray(entry.headers))
        violations.push({ field: `${at}.headers`, message: 'must be an object of strings' });
      else
        for (const [k, v] of Object.entries(entry.headers))
          if (typeof v !== 'string' || k.length === 0)
            violations.push({ field: `${at}.headers.${k}`, message: 'must be a string' });
    }
    if (violations.length > before || !checked.ok) return;
    const body = encodeEnvelope(checked.event);
    if (body.byteLength > maxBytes) {
      tooLarge.push({ field: `${at}.event`, message: `${body.byteLength} bytes > ${maxBytes}` });
      return;
    }
    rows.push({
      id: checked.event.id,
      topic: topic as string,
      orderingKey: entry.orderingKey ?? checked.event.subject ?? null,
      priority: entry.priority ?? 'normal',
      deliverAt: entry.deliverAt === undefined ? null : entry.deliverAt.getTime(),
      envelope: decoder.decode(body),
      headers: entry.headers === undefined ? null : JSON.stringify(entry.headers),
    });
  });
  if (violations.length > 0) throw invalidEvent(violations);
  if (tooLarge.length > 0)
    throw messagingError(
      'invalid_argument',
      MessagingReasons.MESSAGE_TOO_LARGE,
      `event too large: ${tooLarge.map((v) => `${v.field}: ${v.message}`).join('; ')}`,
      tooLarge,
    );
  return rows;
}
