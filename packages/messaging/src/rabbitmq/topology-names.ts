import { SluiceError } from '@sluice/errors';
import { MessagingReasons } from '../reasons.js';
import type { Priority } from '../transport.js';

/**
 * Names of the AMQP objects the RabbitMQ transport declares. `~` separates the
 * parts because it is not allowed inside a prefix, topic or group name, so two
 * different (topic, group) pairs can never map to the same queue.
 *
 * | object | name | kind |
 * |---|---|---|
 * | topic exchange | `<prefix>~<topic>` | direct, durable |
 * | group queue | `<prefix>~<topic>~<group>` | classic, `x-max-priority` 2 |
 * | ordering partitions | `<prefix>~<topic>~<group>~p<i>` | quorum, single active consumer |
 * | dead letters | `<prefix>~<topic>~<group>~dlq` | classic |
 * | delay level | `<prefix>~delay~<ms>` (exchange + queue) | quorum, queue TTL, DLX → default exchange |
 * | group catalog | `<prefix>~groups` | classic |
 */
export interface TopologyNames {
  readonly prefix: string;
  exchange(topic: string): string;
  groupQueue(topic: string, group: string): string;
  partitionQueue(topic: string, group: string, partition: number): string;
  deadLetterQueue(topic: string, group: string): string;
  delayLevel(ms: number): string;
  catalogQueue(): string;
}

/** Allowed characters of a prefix, topic or group name (AMQP names are at most 255 bytes; these stay well under). */
const NAME = /^[A-Za-z0-9._:-]{1,80}$/;

/** Throws `invalid_argument` (`MESSAGING_INVALID_MESSAGE`) unless `value` is a usable name part. */
export function assertName(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new SluiceError({
      code: 'invalid_argument',
      reason: MessagingReasons.INVALID_MESSAGE,
      message: `${field} must be 1-80 characters of A-Z a-z 0-9 . _ : - (got ${JSON.stringify(value)})`,
      details: { violations: [{ field, message: 'must match [A-Za-z0-9._:-]{1,80}' }] },
    });
  }
}

/** Builds the naming scheme for one prefix (validated). */
export function topologyNames(prefix: string): TopologyNames {
  assertName('prefix', prefix);
  return {
    prefix,
    exchange: (topic) => `${prefix}~${topic}`,
    groupQueue: (topic, group) => `${prefix}~${topic}~${group}`,
    partitionQueue: (topic, group, partition) => `${prefix}~${topic}~${group}~p${partition}`,
    deadLetterQueue: (topic, group) => `${prefix}~${topic}~${group}~dlq`,
    delayLevel: (ms) => `${prefix}~delay~${ms}`,
    catalogQueue: () => `${prefix}~groups`,
  };
}

/** Routing key of un-keyed messages on a topic exchange. */
export const MAIN_ROUTING_KEY = 'main';

/** Routing key of ordering partition `i` on a topic exchange. */
export function partitionRoutingKey(partition: number): string {
  return `p${partition}`;
}

/**
 * The partition of an ordering key: FNV-1a (32 bit) of its UTF-16 code units
 * modulo `partitions`. Stable across processes and versions — every publisher
 * and consumer of a topic must use the same partition count.
 */
export function partitionOf(orderingKey: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < orderingKey.length; i++) {
    hash ^= orderingKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/** AMQP priority of each {@link Priority} on a group queue declared with `x-max-priority: 2`. */
export const AMQP_PRIORITY: Readonly<Record<Priority, number>> = { low: 0, normal: 1, high: 2 };

/** The {@link Priority} of an AMQP priority property (absent → `normal`). */
export function priorityOf(amqpPriority: number | undefined): Priority {
  if (amqpPriority === undefined || amqpPriority === null) return 'normal';
  if (amqpPriority >= 2) return 'high';
  if (amqpPriority <= 0) return 'low';
  return 'normal';
}
