import { isSluiceError, SluiceError } from '@sluice/errors';
import type { Channel, ChannelModel, ConfirmChannel, Options } from 'amqplib';
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

/**
 * The transport's AMQP connections: one for publishing and topology (a
 * confirm channel, re-opened if the broker closes it after a channel error),
 * one for consumers (a channel per consumer), so broker flow control on
 * publishers never stalls acks.
 */
export class AmqpSession {
  private confirm: Promise<ConfirmChannel> | undefined;
  private closed = false;

  private constructor(
    readonly publisher: ChannelModel,
    readonly consumer: ChannelModel,
  ) {
    // A dropped connection surfaces as failed operations; keep 'error' from crashing the process.
    publisher.on('error', () => {});
    consumer.on('error', () => {});
  }

  /** Opens both connections. */
  static async open(url: string | Options.Connect): Promise<AmqpSession> {
    let publisher: ChannelModel | undefined;
    try {
      publisher = await amqp.connect(url);
      const consumer = await amqp.connect(url);
      return new AmqpSession(publisher, consumer);
    } catch (err) {
      await publisher?.close().catch(() => {});
      throw unavailable('connect', err);
    }
  }

  /** The shared confirm channel (re-opened after a channel-level error). */
  confirmChannel(): Promise<ConfirmChannel> {
    if (this.closed) return Promise.reject(closedError('RabbitMQ transport'));
    if (!this.confirm) {
      const opening = this.publisher.createConfirmChannel().then((ch) => {
        ch.on('error', () => {});
        ch.on('close', () => {
          if (this.confirm === opening) this.confirm = undefined;
        });
        return ch;
      });
      opening.catch(() => {
        if (this.confirm === opening) this.confirm = undefined;
      });
      this.confirm = opening;
    }
    return this.confirm;
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
      channel = await this.publisher.createChannel();
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
  async publishConfirmed(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
  ): Promise<void> {
    const channel = await this.confirmChannel().catch((err) => {
      throw unavailable('open channel', err);
    });
    await new Promise<void>((resolve, reject) => {
      try {
        channel.publish(exchange, routingKey, content, options, (err) =>
          err ? reject(unavailable('publish (broker nack)', err)) : resolve(),
        );
      } catch (err) {
        reject(unavailable('publish', err));
      }
    });
  }

  /** Closes both connections. Idempotent. */
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
