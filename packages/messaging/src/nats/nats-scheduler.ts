/**
 * Scheduled delivery on NATS 2.9 (no native per-message scheduling): a
 * message with a future `deliverAt` is published to the topic's scheduled
 * subject, which one durable per topic (`_sched`) consumes; every member of
 * every group of the topic drains it. A delivery that is not due yet is
 * nak'ed with the remaining delay (the server hands it out again then); a due
 * one is republished to its real subject and acknowledged. The handler never
 * sees a message early, and its `attempt` starts at 1 on the real subject.
 */
import type { Msg } from '@nats-io/transport-node';
import type { Priority } from '../transport.js';
import { type NatsContext, unavailable } from './nats-context.js';
import { H } from './nats-headers.js';
import { type AckInfo, PRIORITY_TOKEN, partitionOf, type TopicNames } from './nats-names.js';

const encoder = new TextEncoder();
/** How long a nak or ack of a scheduled message waits for the server, in ms. */
const SETTLE_TIMEOUT_MS = 10_000;

/**
 * Handles one delivery of the scheduler consumer. Returns the ms until it is
 * due when it was held back, `undefined` when it was moved (or could not be:
 * then it stays unacknowledged and comes back after the consumer's ack wait).
 */
export async function handleScheduled(
  ctx: NatsContext,
  names: TopicNames,
  msg: Msg,
  info: AckInfo,
): Promise<number | undefined> {
  const { nc, js } = ctx;
  const h = msg.headers;
  const dueAt = Number(h?.get(H.deliverAt));
  const now = Date.now();
  try {
    if (Number.isFinite(dueAt) && dueAt > now) {
      const delay = dueAt - now;
      const nak = `-NAK ${JSON.stringify({ delay: delay * 1_000_000 })}`;
      await nc.request(msg.reply as string, encoder.encode(nak), { timeout: SETTLE_TIMEOUT_MS });
      return delay;
    }
    const id = h?.get(H.id) || String(info.streamSequence);
    const key = h?.get(H.key);
    const priority = (h?.get(H.priority) || 'normal') as Priority;
    const partition = key ? partitionOf(key, ctx.options.partitions) : -1;
    const subject = key ? names.partitionSubject(partition) : names.prioritySubject(priority);
    const out = ctx.headers();
    if (h) for (const k of h.keys()) if (k !== H.deliverAt && k !== 'Nats-Msg-Id') out.set(k, h.get(k));
    if (!out.has(H.publishedAt)) out.set(H.publishedAt, String(info.timestampMs));
    // The same msgID on a repeat (we died before the ack) is dropped by the duplicate window.
    await js.publish(subject, msg.data, { msgID: `${id}:due`, headers: out });
    await nc.request(msg.reply as string, encoder.encode('+ACK'), { timeout: SETTLE_TIMEOUT_MS });
    ctx.ring(names, key ? `k${partition}` : PRIORITY_TOKEN[priority]);
  } catch (err) {
    // Left unacknowledged: the scheduler consumer redelivers it after its ack wait.
    if (!nc.isClosed()) process.emitWarning(unavailable('scheduled message not moved yet', err));
  }
  return undefined;
}
