/**
 * The NATS JetStream transport (decision record 008): one stream per topic,
 * durable pull consumers per group, a DLQ stream, and emulated priority,
 * scheduled delivery and ordering keys on top of JetStream 2.9.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import { type FieldViolation, isSluiceError, SluiceError } from '@sluice/errors';
import { assertName, assertPublishable } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import type {
  ConsumeOptions,
  Consumer,
  Delivery,
  GroupStats,
  OutgoingMessage,
  Transport,
  TransportCapabilities,
} from '../transport.js';
import { closedError, NatsContext, unavailable } from './nats-context.js';
import { NatsDeadLetters } from './nats-dead-letters.js';
import { H, headerViolations } from './nats-headers.js';
import { NatsMember } from './nats-member.js';
import { PRIORITY_TOKEN, partitionOf, SCHEDULER_CONSUMER } from './nats-names.js';
import { type NatsTransportOptions, resolveOptions } from './nats-options.js';

/** Bytes kept free under the server's `max_payload` for headers. */
const HEADER_BUDGET = 4096;
const DEFAULT_PREFETCH = 10;
const DEFAULT_LEASE_MS = 10_000;

export type { NatsTransportOptions } from './nats-options.js';

/**
 * Connects to NATS and returns a {@link Transport} on JetStream.
 *
 * @example
 * ```ts
 * const transport = await createNatsTransport({ url: 'nats://127.0.0.1:4222', prefix: 'shop' });
 * await transport.declareGroup('orders', 'billing');
 * await transport.publish('orders', [{ id: 'o-1', body: new TextEncoder().encode('{}') }]);
 * ```
 */
export async function createNatsTransport(options: NatsTransportOptions = {}): Promise<Transport> {
  const resolved = resolveOptions(options);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: (options.url ?? 'nats://127.0.0.1:4222').split(','),
      timeout: options.connectTimeoutMs ?? 5_000,
      name: `sluice-${resolved.prefix}`,
    });
  } catch (err) {
    throw unavailable(`cannot connect to NATS at ${options.url ?? 'nats://127.0.0.1:4222'}`, err);
  }
  try {
    const jsm = await jetstreamManager(nc);
    const ctx = new NatsContext(nc, jsm, jetstream(nc), resolved);
    return new NatsTransport(ctx);
  } catch (err) {
    await nc.close();
    throw unavailable('JetStream is not enabled on this NATS server', err);
  }
}

class NatsTransport implements Transport {
  readonly kind = 'nats';
  readonly capabilities: TransportCapabilities;
  readonly deadLetters: NatsDeadLetters;
  private readonly members = new Set<NatsMember>();
  private closing: Promise<void> | undefined;

  constructor(private readonly ctx: NatsContext) {
    const maxPayload = ctx.nc.info?.max_payload ?? 1_048_576;
    this.capabilities = Object.freeze({
      priority: 'emulated',
      delayedDelivery: 'emulated',
      orderingKey: 'emulated',
      deadLetters: 'emulated',
      maxMessageBytes: Math.max(1, maxPayload - HEADER_BUDGET),
    });
    this.deadLetters = new NatsDeadLetters(ctx, () => this.closing !== undefined);
  }

  async declareGroup(topic: string, group: string): Promise<void> {
    this.checkOpen();
    checkName('topic', topic);
    checkName('group', group);
    await this.ctx.declareGroup(topic, group);
  }

  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    this.checkOpen();
    this.validate(topic, messages);
    if (messages.length === 0) return;
    await this.ctx.ensureStream(topic);
    const names = this.ctx.names(topic);
    const { partitions } = this.ctx.options;
    const bells = new Set<string>();
    const now = Date.now();
    try {
      await Promise.all(
        messages.map((m) => {
          const h = this.ctx.headers();
          if (m.headers) for (const [k, v] of Object.entries(m.headers)) h.set(k, v);
          const priority = m.priority ?? 'normal';
          const scheduled = m.deliverAt !== undefined && m.deliverAt.getTime() > now;
          let subject: string;
          if (m.orderingKey !== undefined) h.set(H.key, m.orderingKey);
          if (scheduled) {
            // Moved later under another Nats-Msg-Id (`<id>:due`): keep the id itself.
            h.set(H.id, m.id);
            h.set(H.deliverAt, String(m.deliverAt?.getTime()));
            h.set(H.priority, priority);
            subject = names.scheduledSubject;
            bells.add('s');
          } else if (m.orderingKey !== undefined) {
            const p = partitionOf(m.orderingKey, partitions);
            subject = names.partitionSubject(p);
            bells.add(`k${p}`);
          } else {
            subject = names.prioritySubject(priority);
            bells.add(PRIORITY_TOKEN[priority]);
          }
          return this.ctx.js.publish(subject, m.body, { msgID: m.id, headers: h });
        }),
      );
    } catch (err) {
      if (/max.?payload/i.test(String((err as Error)?.message))) {
        throw new SluiceError({
          code: 'invalid_argument',
          reason: MessagingReasons.MESSAGE_TOO_LARGE,
          message: `a message with its headers exceeds the server's max_payload: ${(err as Error).message}`,
          cause: err,
        });
      }
      throw this.ctx.nc.isClosed() ? closedError('the NATS transport') : unavailable('publish failed', err);
    }
    for (const b of bells) this.ctx.ring(names, b);
  }

  async consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options: ConsumeOptions = {},
  ): Promise<Consumer> {
    this.checkOpen();
    checkName('topic', topic);
    checkName('group', group);
    if (typeof handler !== 'function') throw invalid([{ field: 'handler', message: 'must be a function' }]);
    const prefetch = options.prefetch ?? DEFAULT_PREFETCH;
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const v: FieldViolation[] = [];
    if (!Number.isSafeInteger(prefetch) || prefetch < 1 || prefetch > 10_000) {
      v.push({ field: 'prefetch', message: 'must be an integer from 1 to 10000' });
    }
    if (!Number.isSafeInteger(leaseMs) || leaseMs < 100 || leaseMs > 3_600_000) {
      v.push({ field: 'leaseMs', message: 'must be an integer from 100 to 3600000' });
    }
    if (v.length) throw invalid(v);
    await this.ctx.declareGroup(topic, group);
    await this.ctx.setLease(topic, group, leaseMs);
    this.checkOpen();
    const member = new NatsMember(this.ctx, topic, group, handler, { prefetch, leaseMs }, (m) =>
      this.members.delete(m),
    );
    this.members.add(member);
    member.start();
    return member;
  }

  async stats(topic?: string): Promise<GroupStats[]> {
    this.checkOpen();
    if (topic !== undefined) checkName('topic', topic);
    const { jsm, options } = this.ctx;
    const streams: { name: string; topic: string }[] = [];
    try {
      if (topic !== undefined) {
        const name = this.ctx.names(topic).stream;
        try {
          await jsm.streams.info(name);
          streams.push({ name, topic });
        } catch {
          return [];
        }
      } else {
        for await (const si of jsm.streams.list(`${options.prefix}.>`)) {
          const d = si.config.description ?? '';
          if (d.startsWith('sluice topic ')) streams.push({ name: si.config.name, topic: d.slice(13) });
        }
      }
      const out: GroupStats[] = [];
      for (const s of streams) {
        const groups = new Map<string, { pending: number; inFlight: number }>();
        let scheduled = 0;
        for await (const ci of jsm.consumers.list(s.name)) {
          if (ci.name === SCHEDULER_CONSUMER) {
            scheduled = ci.num_pending + ci.num_ack_pending;
            continue;
          }
          const d = ci.config.description ?? '';
          if (!d.startsWith('sluice group ')) continue;
          const g = d.slice(13);
          const acc = groups.get(g) ?? { pending: 0, inFlight: 0 };
          acc.pending += ci.num_pending;
          acc.inFlight += ci.num_ack_pending;
          groups.set(g, acc);
        }
        for (const [group, acc] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
          const deadLettered = await this.deadLetters.count({ topic: s.topic, group });
          out.push({
            topic: s.topic,
            group,
            pending: acc.pending + scheduled,
            inFlight: acc.inFlight,
            deadLettered,
          });
        }
      }
      return out;
    } catch (err) {
      if (err instanceof SluiceError) throw err;
      throw unavailable('cannot read stats', err);
    }
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await Promise.all([...this.members].map((m) => m.stop()));
        try {
          await this.ctx.nc.drain();
        } catch {
          await this.ctx.nc.close();
        }
      })();
    }
    return this.closing;
  }

  private checkOpen(): void {
    if (this.closing || this.ctx.nc.isClosed()) throw closedError('the NATS transport');
  }

  /**
   * Checks every message before anything is sent, so a bad batch changes
   * nothing: the shared checks of every transport, then what NATS adds
   * (header names it cannot carry or reserves, a priority beside an ordering key).
   */
  private validate(topic: string, messages: readonly OutgoingMessage[]): void {
    const v: FieldViolation[] = [];
    (Array.isArray(messages) ? messages : []).forEach((m: OutgoingMessage | undefined, i) => {
      if (typeof m !== 'object' || m === null) return;
      if (typeof m.headers === 'object' && m.headers !== null) {
        v.push(...headerViolations(m.headers, `messages.${i}.headers`));
      }
      // The id and the ordering key travel in headers, which cannot hold line breaks.
      if (typeof m.id === 'string' && /[\r\n]/.test(m.id)) {
        v.push({ field: `messages.${i}.id`, message: 'must not contain line breaks' });
      }
      if (typeof m.orderingKey === 'string' && /[\r\n]/.test(m.orderingKey)) {
        v.push({ field: `messages.${i}.orderingKey`, message: 'must not contain line breaks' });
      }
    });
    try {
      assertPublishable(topic, messages, this.capabilities);
    } catch (err) {
      // Field errors come first (decision 017), all of them in one error.
      if (v.length === 0 || !isSluiceError(err) || err.reason === MessagingReasons.INVALID_URL) throw err;
      if (err.reason === MessagingReasons.INVALID_MESSAGE)
        throw invalid([...(err.details?.violations ?? []), ...v]);
      throw invalid(v);
    }
    if (v.length) throw invalid(v);
    const mixed = messages.findIndex(
      (m) => m.orderingKey !== undefined && (m.priority ?? 'normal') !== 'normal',
    );
    if (mixed >= 0) {
      throw new SluiceError({
        code: 'unimplemented',
        reason: MessagingReasons.UNSUPPORTED,
        message:
          'the NATS transport keeps ordering-key order over priority: a keyed message must have priority normal',
        details: {
          violations: [
            { field: `messages.${mixed}.priority`, message: 'must be normal with an orderingKey' },
          ],
        },
      });
    }
  }
}

function invalid(violations: FieldViolation[]): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: MessagingReasons.INVALID_MESSAGE,
    message: violations.map((x) => `${x.field} ${x.message}`).join('; '),
    details: { violations },
  });
}

function checkName(field: 'topic' | 'group', value: unknown): void {
  assertName(field, value);
}
