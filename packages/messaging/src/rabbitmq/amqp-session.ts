import { isSluiceError, SluiceError } from '@sluice/errors';
import type { Channel, ConfirmChannel, Options } from 'amqplib';
import amqp from 'amqplib';
import { closedError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';

/** `unavailable` (`MESSAGING_TRANSPORT_UNAVAILABLE`) wrapping a broker or socket failure. */
export function unavailable(what: string, cause: unknown): SluiceError {
  if (isSluiceError(cause)) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new SluiceError({
    code: 'unavailable',
    reason: MessagingReasons.TRANSPORT_UNAVAILABLE,
    message: `RabbitMQ: ${what} failed: ${detail}`,
    cause,
  });
}

/** The parts of amqplib's (recovering) connection the transport uses. */
export interface AmqpConnection {
  createChannel(): Promise<Channel>;
  createConfirmChannel(): Promise<ConfirmChannel>;
  close(): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** One message for {@link AmqpSession.publishMany}. */
export interface PublishItem {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
}

function publishOne(channel: ConfirmChannel, item: PublishItem): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    try {
      channel.publish(item.exchange, item.routingKey, item.content, item.options, (err) =>
        err ? reject(unavailable('publish (broker nack)', err)) : resolve(),
      );
    } catch (err) {
      reject(unavailable('publish', err));
    }
  });
}

/** Reconnection settings of {@link AmqpSession.open}. */
export interface SessionOptions {
  /** How long an operation waits for a (re)connection before failing `unavailable`, in ms. */
  readonly connectWaitMs: number;
}

/** Resolves `p`, or rejects `unavailable` after `ms` (the broker is away and not back yet). */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(unavailable(what, new Error(`no connection to the broker within ${ms} ms`))),
      ms,
    );
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The transport's AMQP connections: one for publishing and topology (a
 * confirm channel, re-opened if the broker closes it after a channel error),
 * one for consumers (a channel per consumer), so broker flow control on
 * publishers never stalls acks. Both reconnect by themselves (amqplib's
 * recovery: 100 ms doubling to 5 s, with jitter, forever once connected);
 * channels opened while disconnected wait up to `connectWaitMs`.
 */
export class AmqpSession {
  private confirm: Promise<ConfirmChannel> | undefined;
  /** The confirm channel once open (the hot path skips the wait and its timer). */
  private confirmReady: ConfirmChannel | undefined;
  private closed = false;

  private constructor(
    readonly publisher: AmqpConnection,
    readonly consumer: AmqpConnection,
    private readonly options: SessionOptions,
  ) {
    // A dropped connection surfaces as failed operations and a reconnect; keep 'error' from crashing the process.
    publisher.on('error', () => {});
    consumer.on('error', () => {});
  }

  /** Opens both connections (failing at once if the broker cannot be reached now). */
  static async open(url: string, options: SessionOptions): Promise<AmqpSession> {
    const connect = () =>
      amqp.connect(url, {
        recovery: { initialMaxRetries: 0, maxRetries: Infinity, initialDelay: 100, maxDelay: 5_000 },
      }) as Promise<AmqpConnection>;
    let publisher: AmqpConnection | undefined;
    try {
      publisher = await connect();
      const consumer = await connect();
      return new AmqpSession(publisher, consumer, options);
    } catch (err) {
      await publisher?.close().catch(() => {});
      throw unavailable('connect', err);
    }
  }

  /** A new channel on the consumer connection (waiting for a reconnection up to `connectWaitMs`). */
  consumerChannel(): Promise<Channel> {
    if (this.closed) return Promise.reject(closedError('RabbitMQ transport'));
    return withDeadline(this.consumer.createChannel(), this.options.connectWaitMs, 'open consumer channel');
  }

  /** The shared confirm channel (re-opened after a channel-level error or a reconnection). */
  confirmChannel(): Promise<ConfirmChannel> {
    if (this.closed) return Promise.reject(closedError('RabbitMQ transport'));
    if (!this.confirm) {
      const opening = this.publisher.createConfirmChannel().then((ch) => {
        ch.on('error', () => {});
        ch.on('close', () => {
          if (this.confirm === opening) this.confirm = undefined;
          if (this.confirmReady === ch) this.confirmReady = undefined;
        });
        this.confirmReady = ch;
        return ch;
      });
      opening.catch(() => {
        if (this.confirm === opening) this.confirm = undefined;
      });
      this.confirm = opening;
    }
    return withDeadline(this.confirm, this.options.connectWaitMs, 'open channel');
  }

  /**
   * Runs `fn` on a short-lived channel of the publisher connection (topology
   * declarations, queue checks, dead-letter scans): a channel error such as a
   * missing queue closes only that channel. Unacked gets are requeued when it closes.
   */
  async withChannel<T>(what: string, fn: (channel: Channel) => Promise<T>): Promise<T> {
    if (this.closed) throw closedError('RabbitMQ transport');
    let channel: Channel;
    try {
      channel = await withDeadline(this.publisher.createChannel(), this.options.connectWaitMs, what);
    } catch (err) {
      throw unavailable(what, err);
    }
    channel.on('error', () => {});
    try {
      return await fn(channel);
    } catch (err) {
      throw unavailable(what, err);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /**
   * Publishes one message on the confirm channel and resolves when the broker
   * confirms it (the message is on disk for durable queues).
   */
  publishConfirmed(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
  ): Promise<void> {
    return this.publishMany([{ exchange, routingKey, content, options }]);
  }

  /**
   * Publishes messages back to back on the confirm channel (pipelined, not one
   * round trip each) and resolves when the broker has confirmed all of them.
   * Messages whose confirm was lost because the channel or connection closed
   * are published once more on a fresh channel (after a reconnection): a
   * broker may then hold a message twice, never zero times. A broker nack on a
   * live channel is not retried.
   */
  async publishMany(items: readonly PublishItem[]): Promise<void> {
    let pending = items;
    for (let round = 0; ; round++) {
      const channel =
        (!this.closed && this.confirmReady) ||
        (await this.confirmChannel().catch((err) => {
          throw unavailable('open channel', err);
        }));
      let closed = false;
      const onClose = () => {
        closed = true;
      };
      channel.once('close', onClose);
      const results = await Promise.allSettled(pending.map((item) => publishOne(channel, item)));
      channel.removeListener('close', onClose);
      const failed = pending.filter((_, k) => results[k]?.status === 'rejected');
      if (failed.length === 0) return;
      const first = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      if (!closed || round >= 1 || this.closed) throw unavailable('publish', first.reason);
      pending = failed;
    }
  }

  /** Closes both connections (and stops reconnecting). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.publisher.close(), this.consumer.close()]);
  }

  /** True after {@link close}. */
  get isClosed(): boolean {
    return this.closed;
  }
}
