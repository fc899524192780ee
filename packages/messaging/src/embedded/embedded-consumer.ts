import { randomUUID } from 'node:crypto';
import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import type { Consumer, DeadLetterFailure, Delivery, Priority } from '../transport.js';
import type { ClaimedRow, EmbeddedStore } from './embedded-store.js';
import { PRIORITY_NAME } from './schema.js';

/** What a consumer needs from its transport. */
export interface ConsumerHost {
  readonly store: EmbeddedStore;
  /** Tells local consumers and other processes that `topic` may have claimable work. */
  ring(topic: string): void;
  /** Called when the consumer stopped, to detach it. */
  detach(consumer: EmbeddedConsumer): void;
}

/** Settings of one {@link EmbeddedConsumer}. */
export interface EmbeddedConsumerSettings {
  readonly topic: string;
  readonly group: string;
  readonly prefetch: number;
  readonly leaseMs: number;
  /** First poll interval after an empty claim, in ms; doubles up to `maxPollMs`. */
  readonly minPollMs: number;
  readonly maxPollMs: number;
}

const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * One member of a group on the embedded transport. It claims up to
 * `prefetch - running` rows at a time (one `UPDATE … RETURNING`), runs the
 * handler for each, renews the leases of running handlers every `leaseMs / 3`
 * in one transaction, and sleeps — when nothing is claimable — until a wake-up
 * (in-process notify or UDP doorbell), the next due time in the group (a
 * scheduled message, a retry, a lease expiry) or an adaptive poll, whichever
 * comes first.
 */
export class EmbeddedConsumer implements Consumer {
  /** This member's lease owner id. */
  readonly owner = randomUUID();
  /** Leases to renew: claimed rows neither settled nor abandoned by their handler. */
  private readonly leases = new Map<number, { seq: number; attempt: number }>();
  /** Handlers running now (what `prefetch` bounds). */
  private running = 0;
  private readonly idle: Array<() => void> = [];
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private pumpScheduled = false;
  /**
   * Whether claimable rows may be waiting: false after a claim that got fewer
   * rows than asked, true again on a wake-up or a timer. A finishing handler
   * claims again only while it is true, so a drained queue costs no empty claim
   * per message.
   */
  private maybeMore = true;
  private sleepTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private pollMs: number;

  constructor(
    private readonly host: ConsumerHost,
    private readonly settings: EmbeddedConsumerSettings,
    private readonly handler: (delivery: Delivery) => Promise<void>,
  ) {
    this.pollMs = settings.minPollMs;
  }

  get topic(): string {
    return this.settings.topic;
  }

  /** Starts claiming. */
  start(): void {
    this.wake();
  }

  /** Claim soon (coalesced): work may be available. */
  wake(): void {
    this.maybeMore = true;
    if (this.stopped || this.pumpScheduled) return;
    this.pumpScheduled = true;
    if (this.sleepTimer) {
      clearTimeout(this.sleepTimer);
      this.sleepTimer = undefined;
    }
    this.pollMs = this.settings.minPollMs;
    setImmediate(() => this.pump());
  }

  /** Claims soon, keeping the sleep timer and poll interval as they are (a handler slot freed up). */
  private schedulePump(): void {
    if (this.stopped || this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.pumpScheduled = false;
    if (this.stopped) return;
    const free = this.settings.prefetch - this.running;
    if (free <= 0) return; // a finishing handler wakes us
    const { topic, group, leaseMs } = this.settings;
    let rows: ClaimedRow[];
    const now = Date.now();
    try {
      rows = this.host.store.claim(topic, group, this.owner, now, leaseMs, free);
    } catch {
      rows = []; // busy past the timeout: try again at the next poll
    }
    for (const row of rows) this.run(row);
    if (rows.length > 0) this.pollMs = this.settings.minPollMs;
    if (rows.length === free) return;
    this.maybeMore = false;
    if (this.sleepTimer) return; // already sleeping (this was a claim after a handler finished)
    // Nothing more claimable now: sleep until the next due time or the poll.
    let delay = this.pollMs;
    try {
      const due = this.host.store.nextDue(topic, group, now);
      if (due !== undefined) delay = Math.min(delay, Math.max(1, due - Date.now()));
    } catch {
      // keep the poll delay
    }
    this.pollMs = Math.min(this.settings.maxPollMs, this.pollMs * 2);
    this.sleepTimer = setTimeout(() => {
      this.sleepTimer = undefined;
      this.maybeMore = true;
      if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        this.pump();
      }
    }, delay);
  }

  private run(row: ClaimedRow): void {
    this.leases.set(row.seq, { seq: row.seq, attempt: row.attempt });
    this.running++;
    this.ensureRenewal();
    const delivery = this.delivery(row);
    let p: Promise<void>;
    try {
      p = this.handler(delivery);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      () => this.finished(row.seq),
      () => this.finished(row.seq),
    );
  }

  private finished(seq: number): void {
    this.running--;
    // A handler that returned without settling: stop renewing, the lease lapses.
    this.leases.delete(seq);
    if (this.running === 0) {
      if (this.renewTimer) clearInterval(this.renewTimer);
      this.renewTimer = undefined;
      for (const resolve of this.idle.splice(0)) resolve();
    }
    if (this.maybeMore) this.schedulePump();
  }

  private ensureRenewal(): void {
    if (this.renewTimer) return;
    const every = Math.max(10, Math.floor(this.settings.leaseMs / 3));
    this.renewTimer = setInterval(() => {
      if (this.leases.size === 0) return;
      const tokens = [...this.leases.values()];
      this.host.store
        .enqueue(() => {
          this.host.store.renew(tokens, this.owner, Date.now() + this.settings.leaseMs);
        })
        .catch(() => {
          // A busy database: the next renewal (a third of a lease later) tries again.
        });
    }, every);
  }

  private delivery(row: ClaimedRow): Delivery {
    const { store } = this.host;
    const { topic, group, leaseMs } = this.settings;
    const owner = this.owner;
    const { seq, attempt } = row;
    const keyed = row.okey !== null;
    let settled = false;
    const settle = (write: () => void, wakeOthers: boolean, single: boolean): Promise<void> => {
      if (settled) return Promise.resolve();
      settled = true;
      this.leases.delete(seq);
      return store.enqueue(write, single).then(() => {
        if (wakeOthers) this.host.ring(topic);
      });
    };
    return {
      id: row.id,
      topic,
      group,
      body: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength),
      headers: row.headers === null ? EMPTY_HEADERS : (JSON.parse(row.headers) as Record<string, string>),
      attempt,
      priority: PRIORITY_NAME[row.priority] as Priority,
      orderingKey: row.okey ?? undefined,
      publishedAt: new Date(row.published_at),
      ack: () => settle(() => store.ack(seq, owner, attempt), keyed, true),
      retry: (delayMs: number) => {
        if (!(delayMs >= 0) || !Number.isFinite(delayMs))
          return Promise.reject(
            messagingError('invalid_argument', MessagingReasons.INVALID_MESSAGE, `retry delay ${delayMs}`, [
              { field: 'delayMs', message: 'must be a finite number >= 0' },
            ]),
          );
        return settle(() => store.retry(seq, owner, attempt, Date.now() + delayMs), true, true);
      },
      deadLetter: (failure: DeadLetterFailure) =>
        settle(
          () =>
            store.deadLetter(seq, owner, attempt, String(failure.error), String(failure.reason), Date.now()),
          keyed,
          false,
        ),
      extendLease: () =>
        settled
          ? Promise.resolve()
          : store.enqueue(() => {
              store.renew([{ seq, attempt }], owner, Date.now() + leaseMs);
            }),
    };
  }

  /**
   * Stops claiming, waits up to `timeoutMs` for running handlers, then gives
   * back (at once, to other members) the deliveries still unsettled.
   */
  stop(timeoutMs = 30_000): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopped = true;
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
    this.stopping = (async () => {
      if (this.running > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => this.idle.push(resolve)),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
          }),
        ]);
        clearTimeout(timer);
      }
      if (this.renewTimer) clearInterval(this.renewTimer);
      this.renewTimer = undefined;
      const left = [...this.leases.values()];
      this.leases.clear();
      if (left.length > 0) {
        await this.host.store
          .enqueue(() => {
            for (const t of left) this.host.store.release(t.seq, this.owner, t.attempt, Date.now());
          })
          .catch(() => {});
        this.host.ring(this.settings.topic);
      }
      this.host.detach(this);
    })();
    return this.stopping;
  }
}
