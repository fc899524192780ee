/**
 * One JetStream message handed to a member, settled with the JetStream ack
 * protocol on its reply subject: `+ACK`, `-NAK {"delay": ns}`, `+WPI` (work in
 * progress: resets `ack_wait`). Acks and naks are sent as requests so the
 * returned promise resolves only once the server has recorded them.
 */
import type { Msg } from '@nats-io/transport-node';
import { SluiceError } from '@sluice/errors';
import { MessagingReasons } from '../reasons.js';
import type { DeadLetterFailure, Delivery, Priority } from '../transport.js';
import { closedError, type NatsContext, unavailable } from './nats-context.js';
import { H, isReservedHeader } from './nats-headers.js';
import type { AckInfo } from './nats-names.js';

/** How long a settle request waits for the server's confirmation, in ms. */
const SETTLE_TIMEOUT_MS = 10_000;
const encoder = new TextEncoder();
const ACK = encoder.encode('+ACK');
const WPI = encoder.encode('+WPI');

/** What the member needs to know when a delivery is settled. */
export interface SettleHooks {
  /** Called after a successful ack or dead-letter (frees an ordering-key partition). */
  readonly onDone: () => void;
  /** Called after a retry: the source may have the message again after `delayMs`. */
  readonly onRetry: (delayMs: number) => void;
}

/** The user headers of a NATS message (reserved `Nats-`/`Sluice-` headers removed). */
export function userHeaders(msg: Msg): Record<string, string> {
  const out: Record<string, string> = {};
  const h = msg.headers;
  if (!h) return out;
  for (const k of h.keys()) {
    if (!isReservedHeader(k)) out[k] = h.get(k);
  }
  return out;
}

/** A {@link Delivery} backed by a JetStream message. */
export class NatsDelivery implements Delivery {
  readonly id: string;
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly attempt: number;
  readonly orderingKey: string | undefined;
  readonly publishedAt: Date;
  private state: 'open' | 'settling' | 'settled' = 'open';

  constructor(
    private readonly ctx: NatsContext,
    private readonly msg: Msg,
    info: AckInfo,
    readonly topic: string,
    readonly group: string,
    readonly priority: Priority,
    private readonly hooks: SettleHooks,
  ) {
    const h = msg.headers;
    this.id = h?.get(H.id) || h?.get('Nats-Msg-Id') || String(info.streamSequence);
    this.body = msg.data;
    this.headers = Object.freeze(userHeaders(msg));
    this.attempt = info.deliveryCount;
    const key = h?.get(H.key);
    this.orderingKey = key ? key : undefined;
    const published = Number(h?.get(H.publishedAt));
    this.publishedAt = new Date(Number.isFinite(published) && published > 0 ? published : info.timestampMs);
  }

  /** Whether ack/retry/deadLetter has been called. */
  get settled(): boolean {
    return this.state !== 'open';
  }

  async ack(): Promise<void> {
    if (!this.begin()) return;
    await this.send(ACK, 'acknowledge');
    this.hooks.onDone();
  }

  async retry(delayMs: number): Promise<void> {
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new SluiceError({
        code: 'invalid_argument',
        reason: MessagingReasons.INVALID_MESSAGE,
        message: `retry delay must be a finite number of ms >= 0, got ${String(delayMs)}`,
        details: { violations: [{ field: 'delayMs', message: 'must be a finite number >= 0' }] },
      });
    }
    if (!this.begin()) return;
    const ms = Math.round(delayMs);
    const nak = ms > 0 ? `-NAK ${JSON.stringify({ delay: ms * 1_000_000 })}` : '-NAK';
    await this.send(encoder.encode(nak), 'retry');
    this.hooks.onRetry(ms);
  }

  async deadLetter(failure: DeadLetterFailure): Promise<void> {
    if (!failure || typeof failure.error !== 'string' || typeof failure.reason !== 'string') {
      throw new SluiceError({
        code: 'invalid_argument',
        reason: MessagingReasons.INVALID_MESSAGE,
        message: 'deadLetter needs { error: string, reason: string }',
        details: { violations: [{ field: 'failure', message: 'error and reason must be strings' }] },
      });
    }
    if (!this.begin()) return;
    try {
      await this.ctx.ensureDeadLetterStream();
      const h = this.ctx.headers();
      for (const [k, v] of Object.entries(this.headers)) h.set(k, v);
      h.set(H.id, this.id);
      h.set(H.topic, encodeURIComponent(this.topic));
      h.set(H.group, encodeURIComponent(this.group));
      h.set(H.priority, this.priority);
      if (this.orderingKey !== undefined) h.set(H.key, this.msg.headers?.get(H.key) ?? '');
      h.set(H.error, encodeURIComponent(failure.error));
      h.set(H.reason, encodeURIComponent(failure.reason));
      h.set(H.attempts, String(this.attempt));
      h.set(H.publishedAt, String(this.publishedAt.getTime()));
      h.set(H.deadLetteredAt, String(Date.now()));
      // One subject per (topic, group, id) holding one message: a second
      // dead-lettering of the same message (after a crash here) replaces it.
      await this.ctx.js.publish(this.ctx.dlq.subject(this.topic, this.group, this.id), this.body, {
        headers: h,
      });
    } catch (err) {
      this.state = 'open';
      throw this.ctx.nc.isClosed()
        ? closedError('the NATS transport')
        : unavailable('cannot dead-letter', err);
    }
    this.state = 'settling';
    await this.send(ACK, 'acknowledge the dead-lettered message');
    this.hooks.onDone();
  }

  async extendLease(): Promise<void> {
    if (this.state !== 'open' || this.ctx.nc.isClosed()) return;
    this.ctx.nc.publish(this.msg.reply as string, WPI);
  }

  /**
   * Returns an unsettled delivery to the group at once (`-NAK`, no delay), for
   * a consumer that stops before its handler settled; settling it afterwards
   * is a no-op. The next delivery has `attempt + 1`.
   */
  async giveBack(): Promise<void> {
    if (this.state !== 'open' || this.ctx.nc.isClosed()) return;
    this.state = 'settling';
    await this.send(encoder.encode('-NAK'), 'give back');
    this.state = 'settled';
    this.hooks.onRetry(0);
  }

  /** Marks the delivery as being settled; false when it already was (settling twice is a no-op). */
  private begin(): boolean {
    if (this.state !== 'open') return false;
    if (this.ctx.nc.isClosed()) throw closedError('the NATS transport');
    this.state = 'settling';
    return true;
  }

  private async send(payload: Uint8Array, what: string): Promise<void> {
    try {
      await this.ctx.nc.request(this.msg.reply as string, payload, { timeout: SETTLE_TIMEOUT_MS });
      this.state = 'settled';
    } catch (err) {
      this.state = 'open';
      throw this.ctx.nc.isClosed() ? closedError('the NATS transport') : unavailable(`cannot ${what}`, err);
    }
  }
}
