import { SluiceError } from '@sluice/errors';
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import { MessagingReasons } from '../reasons.js';
import type { ConsumeOptions, Consumer, DeadLetterFailure, Delivery, Priority } from '../transport.js';
import { type DecodedMessage, decodeMessage, encodeOptions, SluiceHeader } from './amqp-message.js';
import { type AmqpSession, unavailable } from './amqp-session.js';
import { nextDelayLevel } from './delay-levels.js';
import type { RabbitMqTopology } from './rabbitmq-topology.js';
import { unsupported } from './validate-outgoing.js';

/** What a consumer needs from its transport. */
export interface ConsumerContext {
  readonly session: AmqpSession;
  readonly topology: RabbitMqTopology;
  readonly topic: string;
  readonly group: string;
  /** Epoch ms now (injectable for tests of the routing decisions). */
  readonly now: () => number;
  /** Longest retry delay / schedule a keyed message may be held for, in ms. */
  readonly maxKeyedHoldMs: number;
  /** Unacked messages each ordering-partition consumer may buffer (at least `prefetch`). */
  readonly keyedBuffer: number;
  /** Called once the consumer has stopped. */
  readonly onStopped: (consumer: RabbitMqConsumer) => void;
}

/** The ordering lane of one key: its received messages in order, at most one running (or waiting to retry). */
interface Lane {
  readonly queue: ConsumeMessage[];
  busy: boolean;
}

type Settlement =
  | { kind: 'ack' }
  | { kind: 'retry'; delayMs: number }
  | { kind: 'dead'; failure: DeadLetterFailure };

/**
 * One member of a group on RabbitMQ: a channel with `basic.qos(prefetch)`
 * consuming the group's classic priority queue (competing with the other
 * members) and every ordering partition queue (single active consumer: one
 * member at a time owns a partition, so a key's messages reach one member, in
 * order). Within a partition the member runs one message per key at a time;
 * other keys proceed. At most `prefetch` handlers run at once.
 */
export class RabbitMqConsumer implements Consumer {
  /** The live channel; undefined while re-subscribing after a lost connection. */
  private channel: Channel | undefined;
  private tags: string[] = [];
  /** Received, not yet settled, with the channel each came on: acks must go to it, and only while it lives. */
  private readonly unsettled = new Map<Message, Channel>();
  private readonly lanes = new Map<string, Lane>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly slotWaiters: Array<() => void> = [];
  private running = 0;
  private cancelled = false;
  private stopping: Promise<void> | undefined;
  private readonly mainQueue: string;
  /** The topic and group this member consumes. */
  readonly topic: string;
  readonly group: string;

  private constructor(
    private readonly ctx: ConsumerContext,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    private readonly prefetch: number,
    private readonly leaseMs: number,
  ) {
    this.mainQueue = ctx.topology.names.groupQueue(ctx.topic, ctx.group);
    this.topic = ctx.topic;
    this.group = ctx.group;
  }

  /** Opens the channel, sets the prefetch and starts consuming every queue of the group. */
  static async start(
    ctx: ConsumerContext,
    handler: (delivery: Delivery) => Promise<void>,
    options: ConsumeOptions,
  ): Promise<RabbitMqConsumer> {
    const prefetch = options.prefetch ?? 10;
    if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 65535) {
      throw new SluiceError({
        code: 'invalid_argument',
        reason: MessagingReasons.INVALID_MESSAGE,
        message: `prefetch must be an integer from 1 to 65535 (got ${String(prefetch)})`,
        details: { violations: [{ field: 'prefetch', message: 'must be an integer from 1 to 65535' }] },
      });
    }
    const leaseMs = options.leaseMs ?? 10_000;
    if (!Number.isInteger(leaseMs) || leaseMs < 1 || leaseMs > 2 ** 31 - 1) {
      throw new SluiceError({
        code: 'invalid_argument',
        reason: MessagingReasons.INVALID_MESSAGE,
        message: `leaseMs must be a positive integer (got ${String(leaseMs)})`,
        details: { violations: [{ field: 'leaseMs', message: 'must be a positive integer of ms' }] },
      });
    }
    const consumer = new RabbitMqConsumer(ctx, handler, prefetch, leaseMs);
    await consumer.subscribe();
    return consumer;
  }

  /**
   * Opens a channel and consumes the group queue (qos `prefetch`) and every
   * ordering partition (qos `max(prefetch, keyedBuffer)`).
   */
  private async subscribe(): Promise<void> {
    const channel = await this.ctx.session.consumerChannel().catch((err) => {
      throw unavailable('open consumer channel', err);
    });
    channel.on('error', () => {});
    channel.on('close', () => this.onChannelClosed(channel));
    // Live from the first basic.consume on: deliveries (and their acks) start before the last one returns.
    this.channel = channel;
    this.tags = [];
    const tags = this.tags;
    try {
      // Per-consumer (not global) qos: quorum queues refuse a channel-wide limit.
      await channel.prefetch(this.prefetch, false);
      const main = await channel.consume(
        this.mainQueue,
        (m) => (m ? this.onMain(m, channel) : this.onCancelled(channel)),
        {
          noAck: false,
        },
      );
      tags.push(main.consumerTag);
      // Partition consumers may buffer more than `prefetch` (handlers stay
      // limited to `prefetch`): a key held back by a retry must not keep the
      // other keys of its partition from reaching this member.
      await channel.prefetch(Math.max(this.prefetch, this.ctx.keyedBuffer), false);
      const names = this.ctx.topology.names;
      for (let i = 0; i < this.ctx.topology.partitions; i++) {
        const q = names.partitionQueue(this.ctx.topic, this.ctx.group, i);
        const tag = await channel.consume(
          q,
          (m) => (m ? this.onPartition(m, channel) : this.onCancelled(channel)),
          {
            noAck: false,
          },
        );
        tags.push(tag.consumerTag);
      }
    } catch (err) {
      // Closing it returns anything it already received; a later subscribe starts clean.
      this.channel = undefined;
      this.forgetAll();
      await channel.close().catch(() => {});
      throw unavailable('start consumer', err);
    }
  }

  /**
   * After the connection was lost (amqplib reconnects it): consume again, with
   * a backoff from 100 ms to 5 s, until it works or the consumer stops.
   */
  private async resubscribe(): Promise<void> {
    for (let delay = 100; !this.cancelled && !this.ctx.session.isClosed; delay = Math.min(delay * 2, 5_000)) {
      try {
        await this.subscribe();
        if (this.cancelled) await this.channel?.close().catch(() => {});
        return;
      } catch {
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Deliveries received and not yet settled (for `stats().inFlight`). */
  get inFlight(): number {
    return this.unsettled.size;
  }

  /** Stops fetching (basic.cancel), lets received deliveries finish (up to `timeoutMs`), then closes the channel. */
  stop(timeoutMs = 30_000): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop(timeoutMs);
    return this.stopping;
  }

  private async doStop(timeoutMs: number): Promise<void> {
    // From now on keyed messages are parked, not started (deliveries may still
    // arrive until the broker confirms the cancels).
    this.cancelled = true;
    const channel = this.channel;
    if (channel) {
      await Promise.all(this.tags.map((tag) => channel.cancel(tag).catch(() => {})));
    }
    // Keys with nothing running: their buffered messages go back in order.
    for (const [key, lane] of this.lanes) if (!lane.busy) this.parkLane(key, lane);
    await this.waitIdle(timeoutMs);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // Whatever is still unacknowledged goes back to the queue when the channel closes.
    await channel?.close().catch(() => {});
    this.forgetAll();
    this.ctx.onStopped(this);
  }

  // ---- receiving -------------------------------------------------------------------------------

  private onMain(msg: ConsumeMessage, channel: Channel): void {
    this.track(msg, channel);
    const d = decodeMessage(msg);
    if (msg.fields.redelivered) {
      // A classic queue only says "delivered before" — it keeps no count. So a
      // returned message (its consumer died) is re-published with attempt + 1
      // and the old copy acked: the count then survives any number of crashes.
      void this.forward(msg, d, d.attemptHeader + 1);
      return;
    }
    if (d.deliverAt !== undefined && d.deliverAt > this.ctx.now()) {
      void this.forward(msg, d, d.attemptHeader);
      return;
    }
    void this.run(msg, d, d.attemptHeader, undefined);
  }

  private onPartition(msg: ConsumeMessage, channel: Channel): void {
    this.track(msg, channel);
    const key = String(msg.properties.headers?.[SluiceHeader.KEY] ?? '');
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { queue: [], busy: false };
      this.lanes.set(key, lane);
    }
    lane.queue.push(msg);
    this.pump(key, lane);
  }

  /** Starts the next message of a key unless one is running or being retried. */
  private pump(key: string, lane: Lane): void {
    if (lane.busy) return;
    if (this.cancelled) {
      // Stopping: the rest of the key goes back, in order, when the channel closes.
      this.parkLane(key, lane);
      return;
    }
    const msg = lane.queue.shift();
    if (!msg) {
      if (this.lanes.get(key) === lane) this.lanes.delete(key);
      return;
    }
    lane.busy = true;
    const d = decodeMessage(msg);
    // Quorum queues count returned deliveries (a consumer died) in x-delivery-count.
    const attempt = d.attemptHeader + d.deliveryCount;
    const wait = d.deliverAt === undefined ? 0 : d.deliverAt - this.ctx.now();
    if (wait > 0) {
      // A scheduled keyed message is held here, unacked, so later messages of its key wait behind it.
      this.later(wait, () => this.rerunKeyed(msg, d, attempt, { key, lane }));
    } else {
      void this.run(msg, d, attempt, { key, lane });
    }
  }

  // ---- running a handler -----------------------------------------------------------------------

  private async run(
    msg: ConsumeMessage,
    d: DecodedMessage,
    attempt: number,
    keyed: { key: string; lane: Lane } | undefined,
  ): Promise<void> {
    await this.acquireSlot();
    const delivery = new RabbitMqDelivery(this, msg, d, attempt, keyed);
    try {
      await this.handler(delivery);
    } catch {
      // Same as returning without settling (the bus always settles; this is the transport-level rule).
    } finally {
      this.releaseSlot();
    }
    if (!delivery.settled) {
      // Returned (or threw) without settling: the lease is no longer renewed
      // and lapses after leaseMs; then the message goes back to the queue and is
      // delivered again with attempt + 1 (a settle after that is refused).
      this.later(this.leaseMs, () => {
        if (delivery.settled) return;
        delivery.settled = Promise.resolve();
        if (keyed) {
          this.rerunKeyed(msg, d, attempt + 1, keyed);
        } else {
          // Back at the head of the classic queue, flagged redelivered: onMain re-publishes it with attempt + 1.
          this.nack(msg);
        }
      });
      return;
    }
    await delivery.settled.catch(() => {});
  }

  /** Settles one delivery (called once per delivery by {@link RabbitMqDelivery}). */
  settle(
    msg: ConsumeMessage,
    d: DecodedMessage,
    attempt: number,
    s: Settlement,
    keyed: { key: string; lane: Lane } | undefined,
  ): Promise<void> {
    return keyed ? this.settleKeyed(msg, d, attempt, s, keyed) : this.settleMain(msg, d, attempt, s);
  }

  /** Longest retry delay of a keyed delivery, in ms. */
  get maxKeyedHoldMs(): number {
    return this.ctx.maxKeyedHoldMs;
  }

  private async settleMain(msg: Message, d: DecodedMessage, attempt: number, s: Settlement): Promise<void> {
    if (s.kind === 'ack') {
      this.ackOrThrow(msg);
      return;
    }
    try {
      if (s.kind === 'retry') {
        const dueAt = s.delayMs > 0 ? this.ctx.now() + s.delayMs : undefined;
        await this.republish(d, attempt + 1, dueAt, this.mainQueue);
      } else {
        await this.sendToDeadLetters(d, attempt, s.failure);
      }
    } catch (err) {
      // The copy was not confirmed: keep the original, hand it back after a
      // pause (it comes again with attempt + 1), and tell the caller.
      this.later(1000, () => this.nack(msg));
      throw err;
    }
    this.ackOrThrow(msg);
  }

  private async settleKeyed(
    msg: ConsumeMessage,
    d: DecodedMessage,
    attempt: number,
    s: Settlement,
    { key, lane }: { key: string; lane: Lane },
  ): Promise<void> {
    if (s.kind === 'retry') {
      // Keep the message unacked at the head of its key for the delay, then run
      // it again here: later messages of the key wait, other keys go on. (A
      // nack would requeue it behind messages the queue has not handed out
      // yet, breaking the key's order.)
      this.later(s.delayMs, () => this.rerunKeyed(msg, d, attempt + 1, { key, lane }));
      return;
    }
    if (s.kind === 'dead') {
      try {
        await this.sendToDeadLetters(d, attempt, s.failure);
      } catch (err) {
        // Not in the DLQ: it stays at the head of its key and runs again after a pause.
        this.later(1000, () => this.rerunKeyed(msg, d, attempt + 1, { key, lane }));
        throw err;
      }
    }
    try {
      this.ackOrThrow(msg);
    } finally {
      lane.busy = false;
      this.pump(key, lane);
    }
  }

  // ---- moving copies -----------------------------------------------------------------------------

  /** Re-publishes a main-queue message to itself (now or through the delay ladder), then acks the old copy. */
  private async forward(msg: Message, d: DecodedMessage, attempt: number): Promise<void> {
    try {
      await this.republish(d, attempt, d.deliverAt, this.mainQueue);
      this.ackOrThrow(msg);
    } catch {
      // Broker trouble: give it back after a pause rather than spin on it.
      this.later(1000, () => this.nack(msg));
    }
  }

  /** Publishes a copy to `queue`, through the delay level for its remaining wait when `dueAt` is ahead. */
  private async republish(
    d: DecodedMessage,
    attempt: number,
    dueAt: number | undefined,
    queue: string,
  ): Promise<void> {
    const options = encodeOptions({
      id: d.id,
      headers: d.headers,
      priority: d.priority,
      orderingKey: d.orderingKey,
      publishedAt: d.publishedAt.getTime(),
      deliverAt: dueAt,
      attempt,
    });
    const level = dueAt === undefined ? undefined : nextDelayLevel(dueAt - this.ctx.now());
    const { session, topology } = this.ctx;
    if (level === undefined) {
      await session.publishConfirmed('', queue, msgBuffer(d), options);
    } else {
      await topology.ensureDelayLevel(level);
      await session.publishConfirmed(topology.names.delayLevel(level), queue, msgBuffer(d), options);
    }
  }

  private async sendToDeadLetters(
    d: DecodedMessage,
    attempts: number,
    failure: DeadLetterFailure,
  ): Promise<void> {
    if (!failure || typeof failure.error !== 'string' || typeof failure.reason !== 'string') {
      throw new SluiceError({
        code: 'invalid_argument',
        reason: MessagingReasons.INVALID_MESSAGE,
        message: 'deadLetter needs { error: string, reason: string }',
      });
    }
    const options = encodeOptions({
      id: d.id,
      headers: d.headers,
      priority: d.priority,
      orderingKey: d.orderingKey,
      publishedAt: d.publishedAt.getTime(),
      deliverAt: undefined,
      attempt: 1,
      extra: {
        [SluiceHeader.TOPIC]: this.ctx.topic,
        [SluiceHeader.GROUP]: this.ctx.group,
        [SluiceHeader.ERROR]: failure.error,
        [SluiceHeader.REASON]: failure.reason,
        [SluiceHeader.ATTEMPTS]: attempts,
        [SluiceHeader.DEAD_LETTERED_AT]: this.ctx.now(),
      },
    });
    const dlq = this.ctx.topology.names.deadLetterQueue(this.ctx.topic, this.ctx.group);
    await this.ctx.session.publishConfirmed('', dlq, msgBuffer(d), options);
  }

  // ---- bookkeeping -------------------------------------------------------------------------------

  /**
   * Runs a keyed message again (after a retry delay, a lapsed lease or its
   * `deliverAt`), unless the consumer is stopping: then it and the rest of
   * its key are parked.
   */
  private rerunKeyed(
    msg: ConsumeMessage,
    d: DecodedMessage,
    attempt: number,
    keyed: { key: string; lane: Lane },
  ): void {
    if (this.cancelled) {
      this.untrack(msg);
      keyed.lane.busy = false;
      this.parkLane(keyed.key, keyed.lane);
      return;
    }
    void this.run(msg, d, attempt, keyed);
  }

  /**
   * Leaves a key's buffered messages unacked for the broker to take back when
   * the channel closes: it returns a consumer's unacked messages in delivery
   * order, ahead of the rest of the queue, so the key keeps its order on the
   * next member. They no longer count as in flight here.
   */
  private parkLane(key: string, lane: Lane): void {
    for (const m of lane.queue.splice(0)) this.untrack(m);
    if (this.lanes.get(key) === lane) this.lanes.delete(key);
  }

  private ackOrThrow(msg: Message): void {
    const channel = this.unsettled.get(msg);
    if (!channel || channel !== this.channel) {
      throw unavailable('ack', new Error('the consumer channel was lost; the broker redelivers the message'));
    }
    try {
      channel.ack(msg);
    } catch (err) {
      throw unavailable('ack', err);
    }
    this.untrack(msg);
  }

  private nack(msg: Message): void {
    const channel = this.unsettled.get(msg);
    if (channel && channel === this.channel) {
      try {
        channel.nack(msg, false, true);
      } catch {
        // The channel is gone: the broker returns the message anyway.
      }
    }
    this.untrack(msg);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private track(msg: Message, channel: Channel): void {
    this.unsettled.set(msg, channel);
  }

  private untrack(msg: Message): void {
    if (!this.unsettled.delete(msg)) return;
    if (this.unsettled.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Drops every delivery of a closed channel (the broker has them back): nothing of it may run any more. */
  private forgetAll(): void {
    for (const m of [...this.unsettled.keys()]) this.untrack(m);
    for (const lane of this.lanes.values()) lane.queue.length = 0;
    this.lanes.clear();
  }

  private waitIdle(timeoutMs: number): Promise<void> {
    if (this.unsettled.size === 0 || !this.channel) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private acquireSlot(): Promise<void> {
    if (this.running < this.prefetch) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.running--;
  }

  /** The broker cancelled a consumer (its queue was deleted): start over on a new channel. */
  private onCancelled(channel: Channel): void {
    if (!this.cancelled && channel === this.channel) void channel.close().catch(() => {});
  }

  private onChannelClosed(channel: Channel): void {
    if (channel !== this.channel) return;
    // Closed by stop(), or lost with its connection: either way the broker has
    // taken back every unacked delivery (handlers still running will find
    // their settle refused as unavailable; the message comes again).
    this.channel = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.forgetAll();
    for (const w of this.idleWaiters.splice(0)) w();
    if (!this.cancelled) void this.resubscribe();
  }
}

function msgBuffer(d: DecodedMessage): Buffer {
  return Buffer.isBuffer(d.body) ? d.body : Buffer.from(d.body);
}

/**
 * One delivery handed to a handler. A class rather than an object of
 * closures: one allocation per message on the hot path.
 */
class RabbitMqDelivery implements Delivery {
  readonly id: string;
  readonly topic: string;
  readonly group: string;
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly priority: Priority;
  readonly orderingKey: string | undefined;
  readonly publishedAt: Date;
  /** Set by the first settle (or when the lease lapses); later settles are no-ops (decision 017). */
  settled: Promise<void> | undefined;

  constructor(
    private readonly consumer: RabbitMqConsumer,
    private readonly msg: ConsumeMessage,
    private readonly d: DecodedMessage,
    readonly attempt: number,
    private readonly keyed: { key: string; lane: Lane } | undefined,
  ) {
    this.id = d.id;
    this.topic = consumer.topic;
    this.group = consumer.group;
    this.body = d.body;
    this.headers = d.headers;
    this.priority = d.priority;
    this.orderingKey = d.orderingKey;
    this.publishedAt = d.publishedAt;
  }

  ack(): Promise<void> {
    return this.settle({ kind: 'ack' });
  }

  retry(delayMs: number): Promise<void> {
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      return Promise.reject(
        new SluiceError({
          code: 'invalid_argument',
          reason: MessagingReasons.INVALID_MESSAGE,
          message: `retry delay must be a finite number of ms >= 0 (got ${String(delayMs)})`,
        }),
      );
    }
    if (this.keyed && delayMs > this.consumer.maxKeyedHoldMs) {
      return Promise.reject(
        unsupported(
          'retry',
          `a keyed message can be retried at most ${this.consumer.maxKeyedHoldMs} ms later on RabbitMQ`,
        ),
      );
    }
    return this.settle({ kind: 'retry', delayMs });
  }

  deadLetter(failure: DeadLetterFailure): Promise<void> {
    return this.settle({ kind: 'dead', failure });
  }

  /**
   * AMQP has no per-message lease: an unacked message belongs to this channel
   * until it is acked or the connection dies (heartbeat). Nothing to renew.
   */
  extendLease(): Promise<void> {
    return Promise.resolve();
  }

  private settle(s: Settlement): Promise<void> {
    // Settling again is a no-op (decision 017), as is settling after the lease lapsed.
    if (this.settled) return Promise.resolve();
    this.settled = this.consumer.settle(this.msg, this.d, this.attempt, s, this.keyed);
    return this.settled;
  }
}
