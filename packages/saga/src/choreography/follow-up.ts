import { randomUUID } from 'node:crypto';
import { createEnvelope, type EventEnvelope } from '@sluice/contracts';

/** What a follow-up event needs beyond its cause. */
export interface FollowUpInput<T, K extends string> {
  readonly type: K;
  /** The service emitting it. */
  readonly source: string;
  readonly data: T;
  /** Default: the cause's subject. */
  readonly subject?: string;
  /** Major schema version. Default 1. */
  readonly version?: number;
  /** Default: a random UUID. */
  readonly id?: string;
  /** Epoch ms or a Date. Default: now. */
  readonly time?: number | Date;
  /** W3C traceparent of the span that emits it (not inherited: the producer's span is new). */
  readonly traceparent?: string;
}

/**
 * Builds the event that `cause` leads to, keeping the chain: a fresh `id`
 * and `time`; `correlationid` = the cause's (the flow's id);
 * `causationid` = the cause's `id`; `userid` and `subject` carried over.
 *
 * @example
 * ```ts
 * const reserved = followUp(placed, { type: 'inventory.reserved', source: 'inventory', data });
 * reserved.correlationid === placed.correlationid; reserved.causationid === placed.id;
 * ```
 */
export function followUp<T, K extends string>(
  cause: EventEnvelope,
  input: FollowUpInput<T, K>,
): EventEnvelope<T, K> {
  const subject = input.subject ?? cause.subject;
  const time = input.time === undefined ? new Date() : new Date(input.time);
  return createEnvelope({
    type: input.type,
    source: input.source,
    data: input.data,
    id: input.id ?? randomUUID(),
    time,
    causedBy: cause,
    ...(subject === undefined ? {} : { subject }),
    ...(input.version === undefined ? {} : { version: input.version }),
    ...(input.traceparent === undefined ? {} : { traceparent: input.traceparent }),
  });
}
