/**
 * How topics, groups, priorities and ordering keys map onto JetStream stream
 * names, subjects and durable consumer names (decision record 008).
 *
 * One stream per topic, `<PREFIX>_<token(topic)>`, capturing
 * `<prefix>.<token(topic)>.>`:
 *
 * | subject                        | carries                                    | consumed by (per group)                 |
 * | ------------------------------ | ------------------------------------------ | --------------------------------------- |
 * | `<p>.<t>.h` / `.n` / `.l`      | unkeyed messages of priority high/normal/low | durables `<g>_h`, `<g>_n`, `<g>_l`     |
 * | `<p>.<t>.k.<i>`                | messages whose ordering key hashes to partition `i` | durable `<g>_k<i>`, `max_ack_pending` 1 |
 * | `<p>.<t>.s`                    | scheduled messages (`deliverAt`) not yet due | the topic's shared durable `_sched`    |
 *
 * Stream, subject-token and consumer names may not contain `.`, `*`, `>`,
 * whitespace or path separators, so a name is its sanitised text (letters,
 * digits, `-`, `_`) plus 8 hex digits of a hash of the original, which keeps
 * two names that sanitise alike (`a.b`, `a_b`) apart.
 */
import { createHash } from 'node:crypto';
import type { Priority } from '../transport.js';

/** Largest sanitised part kept in a token, so names stay far below JetStream's 255-character limit. */
const MAX_READABLE = 48;

/** A hash of `text` as 8 hex digits (FNV-1a 32-bit over UTF-8). Stable across processes and versions. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * A token safe as a NATS subject token, stream name part and consumer name
 * part: `[A-Za-z0-9_-]` only, never empty, unique per input (the hash suffix).
 */
export function safeToken(text: string): string {
  const readable = text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, MAX_READABLE);
  return `${readable}-${hash32(text).toString(16).padStart(8, '0')}`;
}

/** A subject token for a message id in the DLQ stream (a digest: ids may be long or contain dots). */
export function idToken(id: string): string {
  return createHash('sha256').update(id).digest('base64url').slice(0, 32);
}

/** The stream prefix: upper-cased namespace, since stream names are conventionally upper case. */
function streamPrefix(prefix: string): string {
  return prefix.toUpperCase();
}

/** Names of everything a topic uses in JetStream. */
export interface TopicNames {
  readonly topic: string;
  readonly token: string;
  readonly stream: string;
  /** The wildcard subject the stream captures. */
  readonly allSubjects: string;
  /** Subject of unkeyed messages of a priority. */
  readonly prioritySubject: (priority: Priority) => string;
  /** Subject of keyed messages of partition `i`. */
  readonly partitionSubject: (i: number) => string;
  /** Subject of scheduled messages awaiting their time. */
  readonly scheduledSubject: string;
}

/** Names for `topic` under `prefix`. */
export function topicNames(prefix: string, topic: string): TopicNames {
  const token = safeToken(topic);
  const base = `${prefix}.${token}`;
  return {
    topic,
    token,
    stream: `${streamPrefix(prefix)}_${token}`,
    allSubjects: `${base}.>`,
    prioritySubject: (p) => `${base}.${PRIORITY_TOKEN[p]}`,
    partitionSubject: (i) => `${base}.k.${i}`,
    scheduledSubject: `${base}.s`,
  };
}

/** The subject token of each priority. */
export const PRIORITY_TOKEN: Readonly<Record<Priority, string>> = { high: 'h', normal: 'n', low: 'l' };

/** Priorities in the order they are handed out. */
export const PRIORITIES: readonly Priority[] = ['high', 'normal', 'low'];

/** Durable consumer names of a group. */
export interface GroupConsumerNames {
  readonly priority: (p: Priority) => string;
  readonly partition: (i: number) => string;
}

/** Durable names for `group` (the token keeps them unique per group). */
export function groupConsumerNames(group: string): GroupConsumerNames {
  const g = safeToken(group);
  return {
    priority: (p) => `${g}_${PRIORITY_TOKEN[p]}`,
    partition: (i) => `${g}_k${i}`,
  };
}

/** Durable name of the topic's scheduler consumer (shared by every group). */
export const SCHEDULER_CONSUMER = '_sched';

/** Partition of an ordering key: FNV-1a hash modulo the partition count. */
export function partitionOf(orderingKey: string, partitions: number): number {
  return hash32(orderingKey) % partitions;
}

/** Names of the dead-letter stream of a transport namespace. */
export interface DeadLetterNames {
  readonly stream: string;
  /** Subject of one dead letter: one message per (topic, group, id), the newest kept. */
  readonly subject: (topic: string, group: string, id: string) => string;
  /** Wildcard subject matching a filter (any part left undefined matches all). */
  readonly filterSubject: (topic: string | undefined, group: string | undefined) => string;
}

/** DLQ names for `prefix`: stream `<PREFIX>_DLQ`, subjects `<prefix>_dlq.<topic>.<group>.<id>`. */
export function deadLetterNames(prefix: string): DeadLetterNames {
  const base = `${prefix}_dlq`;
  return {
    stream: `${streamPrefix(prefix)}_DLQ`,
    subject: (topic, group, id) => `${base}.${safeToken(topic)}.${safeToken(group)}.${idToken(id)}`,
    filterSubject: (topic, group) =>
      `${base}.${topic === undefined ? '*' : safeToken(topic)}.${group === undefined ? '*' : safeToken(group)}.*`,
  };
}

/** Whether `prefix` is usable as a namespace: it becomes a subject token and a stream-name part. */
export function isValidPrefix(prefix: string): boolean {
  return /^[A-Za-z0-9_-]{1,32}$/.test(prefix);
}

/** The parts of a JetStream ack subject (`$JS.ACK.…`) a delivery needs. */
export interface AckInfo {
  readonly stream: string;
  readonly consumer: string;
  /** How many times this message has been delivered to the consumer (1 = first). */
  readonly deliveryCount: number;
  readonly streamSequence: number;
  /** When the message was stored, in ms since the epoch. */
  readonly timestampMs: number;
}

/**
 * Parses a JetStream ack reply subject: the v1 form
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tsNanos>.<pending>`
 * (9 tokens, NATS 2.9) or the v2 form with domain and account hash after
 * `$JS.ACK` (12+ tokens). Returns `undefined` for anything else.
 */
export function parseAckSubject(subject: string): AckInfo | undefined {
  const t = subject.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return undefined;
  let o: number;
  if (t.length === 9) o = 2;
  else if (t.length >= 11) o = 4;
  else return undefined;
  const stream = t[o];
  const consumer = t[o + 1];
  const delivered = Number(t[o + 2]);
  const sseq = Number(t[o + 3]);
  const tsText = t[o + 5];
  if (!stream || !consumer || !tsText || !Number.isSafeInteger(delivered) || !Number.isSafeInteger(sseq)) {
    return undefined;
  }
  if (!/^\d+$/.test(tsText) || delivered < 1) return undefined;
  // Nanoseconds exceed 2^53: drop the last six digits before converting.
  const timestampMs = tsText.length > 6 ? Number(tsText.slice(0, -6)) : 0;
  return { stream, consumer, deliveryCount: delivered, streamSequence: sseq, timestampMs };
}
