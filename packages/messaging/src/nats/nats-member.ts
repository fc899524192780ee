/**
 * One member of a group on NATS: pulls from the group's durable consumers and
 * runs the handler, at most `prefetch` deliveries at a time.
 *
 * Pulls are `no_wait` batch requests on the raw JetStream API, so the member
 * chooses where its next message comes from: high before normal (and the
 * ordering-key partitions, at normal priority) before low, restarting from the
 * top after every batch. It asks a source again only when the source may have
 * something ("armed"): after a bell (publishers ring
 * `<prefix>_bell.<topic>.<source>` after publishing, members after freeing a
 * partition), after its own retry delay elapses, and every `idlePollMs` (for
 * redeliveries it cannot hear about: another member's retry or lease expiry)
 * when one stream-info request shows the source's subject still holds
 * messages. While idle it waits; it never spins.
 *
 * It also drains the topic's scheduler consumer: a scheduled message that is
 * due is republished to its real subject and acknowledged; one that is not is
 * nak'ed with the remaining delay, and the member sets a timer to look again.
 */
import type { Msg, Subscription } from '@nats-io/transport-node';
import { createInbox } from '@nats-io/transport-node';
import type { Consumer, Delivery, Priority } from '../transport.js';
import type { NatsContext } from './nats-context.js';
import { NatsDelivery } from './nats-delivery.js';
import { H } from './nats-headers.js';
import {
  type AckInfo,
  groupConsumerNames,
  PRIORITY_TOKEN,
  parseAckSubject,
  SCHEDULER_CONSUMER,
  type TopicNames,
} from './nats-names.js';
import { handleScheduled } from './nats-scheduler.js';

/** One durable consumer the member pulls from. */
interface Source {
  readonly durable: string;
  /** Bell token: `h`, `n`, `l`, `k<i>`, `s`. */
  readonly bell: string;
  readonly priority: Priority;
  readonly partitioned: boolean;
  armed: boolean;
}

/** A pull request in flight: its own reply subscription, so abandoning it (unsubscribe) cancels it on the server. */
interface PullRequest {
  readonly batch: number;
  received: number;
  finish(): void;
}

/**
 * Client-side bound of an unkeyed or scheduler pull whose end status never
 * comes (connection trouble), in ms. Those pulls never wait on the server.
 */
const PULL_SAFETY_MS = 8_000;
/**
 * How long a partition pull may wait, in ms. A `no_wait` pull on a partition
 * whose one message is in flight elsewhere waits on the server until the
 * partition frees up; past this the member withdraws it (unsubscribing its
 * reply subject cancels it server-side) so it can serve other partitions.
 */
const PARTITION_WAIT_MS = 500;
/** Scheduled messages looked at per pull. */
const SCHEDULER_BATCH = 256;
const encoder = new TextEncoder();

/** Options of a member, resolved. */
export interface MemberOptions {
  readonly prefetch: number;
  readonly leaseMs: number;
}

/** A running member of a group. */
export class NatsMember implements Consumer {
  private readonly names: TopicNames;
  private readonly sources: Source[];
  private readonly scheduler: Source;
  private readonly inbox = createInbox();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private subs: Subscription[] = [];
  private tick: ReturnType<typeof setInterval> | undefined;
  private checking = false;
  private running = true;
  private inFlight = 0;
  private readonly outstanding = new Map<Source, PullRequest>();
  private readonly active = new Set<NatsDelivery>();
  private requestSeq = 0;
  private rotation = 0;
  private wakePending = false;
  private waiter: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private loop: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly ctx: NatsContext,
    readonly topic: string,
    readonly group: string,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    private readonly options: MemberOptions,
    private readonly onStopped: (member: NatsMember) => void,
  ) {
    this.names = ctx.names(topic);
    const consumers = groupConsumerNames(group);
    const prio = (p: Priority): Source => ({
      durable: consumers.priority(p),
      bell: PRIORITY_TOKEN[p],
      priority: p,
      partitioned: false,
      armed: true,
    });
    const partitions: Source[] = Array.from({ length: ctx.options.partitions }, (_, i) => ({
      durable: consumers.partition(i),
      bell: `k${i}`,
      priority: 'normal' as const,
      partitioned: true,
      armed: true,
    }));
    this.sources = [prio('high'), prio('normal'), ...partitions, prio('low')];
    this.scheduler = {
      durable: SCHEDULER_CONSUMER,
      bell: 's',
      priority: 'normal',
      partitioned: false,
      armed: true,
    };
  }

  /** Subscribes to its inbox and the bell, then starts pulling. */
  start(): void {
    const { nc } = this.ctx;
    this.subs.push(
      nc.subscribe(this.ctx.bellSubject(this.names, '*'), {
        callback: (_err, msg) => {
          const token = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
          for (const s of [...this.sources, this.scheduler]) if (s.bell === token) s.armed = true;
          this.wake();
        },
      }),
    );
    this.tick = setInterval(() => void this.recheck(), this.ctx.options.idlePollMs);
    this.tick.unref?.();
    this.loop = this.run();
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.stopping) {
      this.stopping = (async () => {
        this.running = false;
        this.wake();
        await this.loop;
        for (const r of [...this.outstanding.values()]) r.finish();
        await this.whenIdle(timeoutMs);
        // Handlers still running past the timeout: give their messages back at
        // once (nak without delay) rather than after the lease; their later
        // settlement is a no-op.
        await Promise.allSettled([...this.active].map((d) => d.giveBack()));
        if (this.tick) clearInterval(this.tick);
        for (const t of this.timers) clearTimeout(t);
        this.timers.clear();
        for (const s of this.subs) if (!s.isClosed()) s.unsubscribe();
        this.subs = [];
        this.onStopped(this);
      })();
    }
    return this.stopping;
  }

  /** The pull loop: take from the highest armed source with capacity left, else wait for a wake-up. */
  private async run(): Promise<void> {
    while (this.running) {
      let progressed = false;
      if (this.scheduler.armed) {
        this.scheduler.armed = false;
        if ((await this.pull(this.scheduler, SCHEDULER_BATCH, PULL_SAFETY_MS)) > 0) {
          this.scheduler.armed = true;
          progressed = true;
        }
      }
      for (const source of this.ordered()) {
        const capacity = this.options.prefetch - this.inFlight - this.reserved();
        if (!this.running || capacity <= 0) break;
        if (!source.armed || this.outstanding.has(source)) continue;
        source.armed = false;
        if (source.partitioned) {
          // Not awaited: it may wait on the server while the partition is busy elsewhere.
          void this.pull(source, 1, PARTITION_WAIT_MS).then((got) => {
            if (got > 0) source.armed = true;
            this.wake();
          });
          continue;
        }
        const got = await this.pull(source, capacity, PULL_SAFETY_MS);
        if (got > 0) {
          // More may wait; and a higher priority may have arrived meanwhile: start over from the top.
          source.armed = true;
          progressed = true;
          break;
        }
      }
      if (!progressed && this.running) await this.waitForWake();
    }
  }

  /**
   * Sources in hand-out order: high, then the normal level — the unkeyed
   * normal consumer and the ordering-key partitions, rotating where the level
   * starts on every pass so neither starves the other — then low.
   */
  private ordered(): Source[] {
    const high = this.sources[0] as Source;
    const low = this.sources[this.sources.length - 1] as Source;
    const level = this.sources.slice(1, -1);
    const r = this.rotation++ % level.length;
    return [high, ...level.slice(r), ...level.slice(0, r), low];
  }

  /** Slots promised to pulls still in flight. */
  private reserved(): number {
    let n = 0;
    for (const r of this.outstanding.values()) n += r.batch - r.received;
    return n;
  }

  /** One `no_wait` pull of up to `batch` messages; resolves with how many arrived. */
  private pull(source: Source, batch: number, waitMs: number): Promise<number> {
    const { nc } = this.ctx;
    if (nc.isClosed()) return Promise.resolve(0);
    const reply = `${this.inbox}.${++this.requestSeq}`;
    return new Promise<number>((resolve) => {
      const req: PullRequest = {
        batch,
        received: 0,
        finish: () => {
          if (this.outstanding.get(source) !== req) return;
          this.outstanding.delete(source);
          clearTimeout(timer);
          if (!sub.isClosed()) sub.unsubscribe();
          resolve(req.received);
        },
      };
      const sub = nc.subscribe(reply, {
        callback: (_err, msg) => {
          const info = msg.reply ? parseAckSubject(msg.reply) : undefined;
          // A status (404 no messages, 408 request done, 409 …) ends the pull.
          if (!info) return req.finish();
          req.received++;
          if (req.received >= req.batch) req.finish();
          this.onMessage(msg, info, source);
        },
      });
      const timer = setTimeout(() => req.finish(), waitMs);
      this.outstanding.set(source, req);
      nc.publish(
        `$JS.API.CONSUMER.MSG.NEXT.${this.names.stream}.${source.durable}`,
        encoder.encode(JSON.stringify({ batch, no_wait: true })),
        { reply },
      );
    });
  }

  /** A message arrived on a pull. */
  private onMessage(msg: Msg, info: AckInfo, source: Source): void {
    if (source === this.scheduler) {
      void this.schedule(msg, info);
      return;
    }
    const target = msg.headers?.get(H.group);
    if (target && decodeURIComponent(target) !== this.group) {
      // A replay meant for another group of this topic: not ours to handle.
      this.ctx.nc.publish(msg.reply as string, encoder.encode('+ACK'));
      if (source.partitioned) this.freed(source);
      return;
    }
    this.dispatch(msg, info, source);
  }

  private dispatch(msg: Msg, info: AckInfo, source: Source): void {
    this.inFlight++;
    const delivery = new NatsDelivery(this.ctx, msg, info, this.topic, this.group, source.priority, {
      onDone: () => {
        if (source.partitioned) this.freed(source);
      },
      onRetry: (delayMs) => {
        if (delayMs === 0) {
          source.armed = true;
          this.ctx.ring(this.names, source.bell);
          this.wake();
        } else {
          this.later(delayMs, source);
        }
      },
    });
    void this.runHandler(delivery);
  }

  private async runHandler(delivery: NatsDelivery): Promise<void> {
    // Renew the lease while the handler runs, so a slow handler keeps its message.
    const renew = setInterval(
      () => {
        void delivery.extendLease();
      },
      Math.max(100, Math.floor(this.options.leaseMs / 3)),
    );
    renew.unref?.();
    this.active.add(delivery);
    try {
      await this.handler(delivery);
    } catch {
      // The bus settles deliveries itself; an unsettled delivery of a raw handler
      // that threw is left to its lease: redelivered after `leaseMs`, never lost.
    } finally {
      clearInterval(renew);
      this.active.delete(delivery);
      this.inFlight--;
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      this.wake();
    }
  }

  /** A scheduler delivery: moved when due, else held back; the member looks again when it is due. */
  private async schedule(msg: Msg, info: AckInfo): Promise<void> {
    const notDueForMs = await handleScheduled(this.ctx, this.names, msg, info);
    if (notDueForMs !== undefined) this.later(notDueForMs, this.scheduler);
  }

  /** A partition's message was settled: the next one of that partition may go to any member. */
  private freed(source: Source): void {
    source.armed = true;
    this.ctx.ring(this.names, source.bell);
    this.wake();
  }

  /** Arms `source` after `delayMs` (a retry or schedule this member set). */
  private later(delayMs: number, source: Source): void {
    if (!this.running) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      source.armed = true;
      this.wake();
    }, delayMs + 5);
    t.unref?.();
    this.timers.add(t);
  }

  /**
   * The periodic look for redeliveries nobody rang for: one stream-info
   * request with per-subject counts arms only the sources whose subject still
   * holds messages, instead of one pull per source. On any error, arms all.
   */
  private async recheck(): Promise<void> {
    if (!this.running || this.checking) return;
    this.checking = true;
    try {
      const info = await this.ctx.jsm.streams.info(this.names.stream, {
        subjects_filter: this.names.allSubjects,
      });
      const subjects = info.state.subjects ?? {};
      for (const s of [...this.sources, this.scheduler]) {
        if ((subjects[this.subjectOf(s)] ?? 0) > 0) s.armed = true;
      }
    } catch {
      for (const s of [...this.sources, this.scheduler]) s.armed = true;
    } finally {
      this.checking = false;
    }
    this.wake();
  }

  /** The stream subject a source's consumer filters on. */
  private subjectOf(source: Source): string {
    if (source === this.scheduler) return this.names.scheduledSubject;
    if (source.partitioned) return this.names.partitionSubject(Number(source.bell.slice(1)));
    return this.names.prioritySubject(source.priority);
  }

  private wake(): void {
    this.wakePending = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private waitForWake(): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.waiter = () => {
        this.wakePending = false;
        resolve();
      };
    });
  }

  private whenIdle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      t.unref?.();
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
