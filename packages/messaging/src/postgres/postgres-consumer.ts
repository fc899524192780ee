import { randomUUID } from 'node:crypto';
import { messagingError } from '../message-validation.js';
import { PRIORITY_NAME } from '../priority-rank.js';
import { MessagingReasons } from '../reasons.js';
import type { Consumer, DeadLetterFailure, Delivery, Priority } from '../transport.js';
import type { ClaimedRow, PostgresStore } from './postgres-store.js';
import type { ClaimToken } from './postgres-write-sql.js';

/** What a consumer needs from its transport. */
export interface PostgresConsumerHost {
  readonly store: PostgresStore;
  /** Wakes this process's consumers of `topic` (other processes hear the NOTIFY). */
  wakeLocal(topic: string): void;
  /** Called when the consumer stopped, to detach it. */
  detach(consumer: PostgresConsumer): void;
}

/** Settings of one {@link PostgresConsumer}. */
export interface PostgresConsumerSettings {
  readonly topic: string;
  readonly group: string;
  readonly prefetch: number;
  readonly leaseMs: number;
  /** Fallback poll interval in ms: the latency bound when a NOTIFY is lost. */
  readonly pollMs: number;
}

const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * One member of a group on the PostgreSQL transport, the async twin of the
 * embedded consumer: it claims up to `prefetch - running` rows per round trip,
 * runs the handler for each, renews the leases of running handlers every
 * `leaseMs / 3` (one statement for all of them, in the group commit), and —
 * when nothing is claimable — sleeps until a NOTIFY, the next due time in its
 * group (a scheduled message, a retry, a lease expiry) or the fallback poll.
 * Claims never overlap: wake-ups that arrive during one coalesce into the next.
 */
export class PostgresConsumer implements Consumer {
  /** This member's lease owner id. */
  readonly owner = randomUUID();
  /** Leases to renew: claimed rows neither settled nor abandoned by their handler. */
  private readonly leases = new Map<string, ClaimToken>();
  /** Handlers running now (what `prefetch` bounds). */
  private running = 0;
  private readonly idle: Array<() => void> = [];
  private stopped = false;
  private stopping: Promise<void> | undefined;
  /** A claim loop is running. */
  private pumping = false;
  /** The running claim loop, awaited by `stop`. */
  private pumped: Promise<void> = Promise.resolve();
  /** Something may be claimable: run the loop again. */
  private wanted = false;
  /**
   * The last claim found fewer rows than it asked for: a finishing handler
   * need not claim again (new work arrives with a wake-up or the timer).
   */
  private drained = false;
  /** `Date.now()` after which WAITING rows or leases of the group may be due (0: check at once). */
  private nextDueAt = 0;
  private sleepTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: PostgresConsumerHost,
    private readonly settings: PostgresConsumerSettings,
    private readonly handler: (delivery: Delivery) => Promise<void>,
  ) {}

  get topic(): string {
    return this.settings.topic;
  }

  /** Starts claiming. */
  start(): void {
    this.wake(true);
  }

  /**
   * Claim soon (coalesced): work may be available. `recheckDue` also makes the
   * next claim promote due rows first (a NOTIFY may announce a retry or a
   * scheduled message whose time this consumer does not know).
   */
  wake(recheckDue = false): void {
    if (this.stopped) return;
    if (recheckDue) this.nextDueAt = 0;
    this.wanted = true;
    if (this.pumping) return;
    if (this.sleepTimer) {
      clearTimeout(this.sleepTimer);
      this.sleepTimer = undefined;
    }
    this.pumping = true;
    this.pumped = this.pump();
  }

  private async pump(): Promise<void> {
    const { store } = this.host;
    const { topic, group, leaseMs, prefetch, pollMs } = this.settings;
    let failed = false;
    try {
      while (this.wanted && !this.stopped) {
        this.wanted = false;
        const free = prefetch - this.running;
        if (free <= 0) {
          this.drained = false; // at capacity: a finishing handler claims again
          break;
        }
        if (Date.now() >= this.nextDueAt) {
          const next = await store.promoteDue(topic, group);
          this.nextDueAt = next === undefined ? Number.POSITIVE_INFINITY : Date.now() + next;
        }
        if (this.stopped) break;
        const rows = await store.claim(topic, group, this.owner, leaseMs, free);
        if (this.stopped) {
          // Stopped while claiming: give the rows straight back.
          for (const row of rows)
            void store.enqueue({ kind: 'release', token: this.tokenOf(row), topic }).catch(() => {});
          break;
        }
        for (const row of rows) this.run(row);
        // A full batch: there may be more.
        this.drained = rows.length < free;
        if (!this.drained) this.wanted = true;
      }
    } catch {
      failed = true; // database unreachable: try again at the next poll
    } finally {
      this.pumping = false;
    }
    if (this.stopped) return;
    if (this.wanted && !failed) {
      this.wake();
      return;
    }
    // Nothing more claimable now: sleep until the next due time or the fallback poll.
    const delay = Math.max(1, Math.min(pollMs, this.nextDueAt - Date.now()));
    this.sleepTimer = setTimeout(() => {
      this.sleepTimer = undefined;
      // The poll also looks for expired leases of consumers that died.
      this.wake(true);
    }, delay);
  }

  private tokenOf(row: ClaimedRow): ClaimToken {
    return { seq: row.seq, attempt: row.attempt, owner: this.owner };
  }

  private run(row: ClaimedRow): void {
    const token = this.tokenOf(row);
    this.leases.set(row.seq, token);
    this.running++;
    this.ensureRenewal();
    const delivery = this.delivery(row, token);
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

  private finished(seq: string): void {
    this.running--;
    // A handler that returned without settling: stop renewing, the lease lapses.
    this.leases.delete(seq);
    if (this.running === 0) {
      if (this.renewTimer) clearInterval(this.renewTimer);
      this.renewTimer = undefined;
      for (const resolve of this.idle.splice(0)) resolve();
    }
    if (!this.drained) this.wake();
  }

  private ensureRenewal(): void {
    if (this.renewTimer) return;
    const { leaseMs } = this.settings;
    this.renewTimer = setInterval(
      () => {
        for (const token of this.leases.values())
          this.host.store.enqueue({ kind: 'renew', token, leaseMs }).catch(() => {
            // The database is unreachable: the next renewal (a third of a lease later) tries again.
          });
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    );
  }

  private delivery(row: ClaimedRow, token: ClaimToken): Delivery {
    const { store } = this.host;
    const { topic, group, leaseMs } = this.settings;
    const keyed = row.okey;
    let settled = false;
    const settle = (write: Parameters<PostgresStore['enqueue']>[0], wakeLocal: boolean): Promise<void> => {
      if (settled) return Promise.resolve();
      settled = true;
      this.leases.delete(token.seq);
      return store.enqueue(write).then(() => {
        if (wakeLocal) this.host.wakeLocal(topic);
      });
    };
    return {
      id: row.id,
      topic,
      group,
      body: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength),
      headers: row.headers === null ? EMPTY_HEADERS : row.headers,
      attempt: row.attempt,
      priority: PRIORITY_NAME[row.priority] as Priority,
      orderingKey: keyed ?? undefined,
      publishedAt: row.published_at,
      ack: () => settle({ kind: 'ack', token, topic, keyed }, keyed !== null),
      retry: (delayMs: number) => {
        if (!(delayMs >= 0) || !Number.isFinite(delayMs))
          return Promise.reject(
            messagingError('invalid_argument', MessagingReasons.INVALID_MESSAGE, `retry delay ${delayMs}`, [
              { field: 'delayMs', message: 'must be a finite number >= 0' },
            ]),
          );
        return settle({ kind: 'retry', token, topic, delayMs }, true).then(() => {
          // This consumer knows when the retry falls due: look again then.
          if (delayMs > 0) this.nextDueAt = Math.min(this.nextDueAt, Date.now() + delayMs);
        });
      },
      deadLetter: (failure: DeadLetterFailure) =>
        settle(
          {
            kind: 'dead',
            token,
            topic,
            keyed,
            error: String(failure?.error),
            reason: String(failure?.reason),
          },
          keyed !== null,
        ),
      extendLease: () => (settled ? Promise.resolve() : store.enqueue({ kind: 'renew', token, leaseMs })),
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
      await this.pumped;
      const left = [...this.leases.values()];
      this.leases.clear();
      await Promise.allSettled(
        left.map((token) => this.host.store.enqueue({ kind: 'release', token, topic: this.settings.topic })),
      );
      await this.host.store.drained();
      this.host.detach(this);
    })();
    return this.stopping;
  }
}
