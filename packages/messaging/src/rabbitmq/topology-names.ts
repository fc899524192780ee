import { createHash } from 'node:crypto';
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
 *
 * AMQP names are at most 255 bytes: a longer name keeps its prefix and suffix
 * and replaces the topic/group part with a SHA-256 digest (the catalog keeps
 * the real names).
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

/** Allowed name prefixes: short, so that prefix + topic + group usually fit AMQP's 255 bytes. */
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,39}$/;

/** Throws `invalid_argument` (`MESSAGING_INVALID_URL`) unless `prefix` is usable. */
export function assertPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new SluiceError({
      code: 'invalid_argument',
      reason: MessagingReasons.INVALID_URL,
      message: `RabbitMQ name prefix must be 1-40 of A-Z a-z 0-9 . _ : -, starting with a letter or digit (got ${JSON.stringify(prefix)})`,
      details: {
        violations: [{ field: 'prefix', message: 'must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,39}$' }],
      },
    });
  }
}

/** `<prefix>~<middle><suffix>`, with `middle` replaced by its digest when the whole would pass 255 bytes. */
function fit(prefix: string, middle: string, suffix = ''): string {
  const name = `${prefix}~${middle}${suffix}`;
  if (Buffer.byteLength(name) <= 255) return name;
  return `${prefix}~#${createHash('sha256').update(middle).digest('hex')}${suffix}`;
}

/** Builds the naming scheme for one prefix (validated). */
export function topologyNames(prefix: string): TopologyNames {
  assertPrefix(prefix);
  return {
    prefix,
    exchange: (topic) => fit(prefix, topic),
    groupQueue: (topic, group) => fit(prefix, `${topic}~${group}`),
    partitionQueue: (topic, group, partition) => fit(prefix, `${topic}~${group}`, `~p${partition}`),
    deadLetterQueue: (topic, group) => fit(prefix, `${topic}~${group}`, '~dlq'),
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
