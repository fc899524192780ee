/**
 * What the parts of the NATS transport share: the connection, the JetStream
 * clients, the resolved options, and the helpers that create streams and
 * consumers idempotently and ring the wake-up bell.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { SluiceError } from '@sluice/errors';
import { MessagingReasons } from '../reasons.js';
import type { Priority } from '../transport.js';
import {
  deadLetterNames,
  groupConsumerNames,
  PRIORITIES,
  SCHEDULER_CONSUMER,
  type TopicNames,
  topicNames,
} from './nats-names.js';

/** Options resolved to their defaults. */
export interface ResolvedNatsOptions {
  readonly prefix: string;
  readonly partitions: number;
  readonly idlePollMs: number;
  readonly duplicateWindowMs: number;
  readonly storage: 'file' | 'memory';
  readonly defaultLeaseMs: number;
}

/** Large enough never to throttle a group of members, small enough to bound server memory. */
const MAX_ACK_PENDING = 100_000;
/** How long a scheduler delivery may stay with a member that died before another one gets it. */
const SCHEDULER_ACK_WAIT_MS = 10_000;

const NS_PER_MS = 1_000_000;

/** Shared state of one transport instance. */
export class NatsContext {
  readonly dlq: ReturnType<typeof deadLetterNames>;
  private readonly streams = new Map<string, Promise<void>>();
  private readonly groups = new Map<string, Promise<void>>();
  private readonly ackWaits = new Map<string, number>();
  private dlqReady: Promise<void> | undefined;

  constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    readonly js: JetStreamClient,
    readonly options: ResolvedNatsOptions,
  ) {
    this.dlq = deadLetterNames(options.prefix);
  }

  /** Names of a topic in this namespace. */
  names(topic: string): TopicNames {
    return topicNames(this.options.prefix, topic);
  }

  /** The subject a member listens on to learn that a source may have messages. */
  bellSubject(names: TopicNames, source: string): string {
    return `${this.options.prefix}_bell.${names.token}.${source}`;
  }

  /** Wakes idle members of `names`' topic: `source` is `h`, `n`, `l`, `k<i>` or `s`. Fire and forget. */
  ring(names: TopicNames, source: string): void {
    if (this.nc.isClosed()) return;
    this.nc.publish(this.bellSubject(names, source));
  }

  /** Creates the topic's stream if missing (interest retention: kept until every group acknowledged). */
  ensureStream(topic: string): Promise<void> {
    let p = this.streams.get(topic);
    if (!p) {
      const names = this.names(topic);
      p = (async () => {
        try {
          await this.jsm.streams.info(names.stream);
          return;
        } catch (err) {
          if (!isNotFound(err)) throw unavailable(`cannot read stream ${names.stream}`, err);
        }
        try {
          await this.jsm.streams.add({
            name: names.stream,
            description: `sluice topic ${topic}`,
            subjects: [names.allSubjects],
            retention: RetentionPolicy.Interest,
            storage: this.options.storage === 'memory' ? StorageType.Memory : StorageType.File,
            discard: DiscardPolicy.Old,
            duplicate_window: this.options.duplicateWindowMs * NS_PER_MS,
            num_replicas: 1,
          });
        } catch (err) {
          // Another process created it between our info and add: fine.
          if (!/already in use|exists/i.test(String((err as Error).message))) {
            throw unavailable(`cannot create stream ${names.stream}`, err);
          }
        }
      })();
      this.streams.set(topic, p);
      p.catch(() => this.streams.delete(topic));
    }
    return p;
  }

  /**
   * Declares `group` on `topic`: one durable pull consumer per priority, one
   * per ordering-key partition (`max_ack_pending` 1), and the topic's shared
   * scheduler consumer. Deliver policy `new`: the group gets what is published
   * from now on. Idempotent across processes.
   */
  declareGroup(topic: string, group: string): Promise<void> {
    const key = `${topic}\u0000${group}`;
    let p = this.groups.get(key);
    if (!p) {
      p = (async () => {
        await this.ensureStream(topic);
        const names = this.names(topic);
        const consumers = groupConsumerNames(group);
        const ackWait = this.options.defaultLeaseMs;
        const base = {
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.New,
          max_deliver: -1,
          description: `sluice group ${group}`,
        };
        const adds: Promise<void>[] = [];
        for (const priority of PRIORITIES) {
          adds.push(
            this.addConsumer(names.stream, {
              ...base,
              durable_name: consumers.priority(priority),
              filter_subject: names.prioritySubject(priority),
              ack_wait: ackWait * NS_PER_MS,
              max_ack_pending: MAX_ACK_PENDING,
            }),
          );
        }
        for (let i = 0; i < this.options.partitions; i++) {
          adds.push(
            this.addConsumer(names.stream, {
              ...base,
              durable_name: consumers.partition(i),
              filter_subject: names.partitionSubject(i),
              ack_wait: ackWait * NS_PER_MS,
              max_ack_pending: 1,
            }),
          );
        }
        adds.push(
          this.addConsumer(names.stream, {
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.New,
            max_deliver: -1,
            description: 'sluice scheduler',
            durable_name: SCHEDULER_CONSUMER,
            filter_subject: names.scheduledSubject,
            ack_wait: SCHEDULER_ACK_WAIT_MS * NS_PER_MS,
            max_ack_pending: MAX_ACK_PENDING,
          }),
        );
        await Promise.all(adds);
      })();
      this.groups.set(key, p);
      p.catch(() => this.groups.delete(key));
    }
    return p;
  }

  /**
   * Sets the group's `ack_wait` (the lease) to `leaseMs` on every consumer of
   * the group. JetStream keeps one ack wait per consumer, so the last
   * `consume()` of a group decides it for all members.
   */
  async setLease(topic: string, group: string, leaseMs: number): Promise<void> {
    const key = `${topic}\u0000${group}`;
    if (this.ackWaits.get(key) === leaseMs) return;
    const names = this.names(topic);
    const consumers = groupConsumerNames(group);
    const durables = [
      ...PRIORITIES.map((p: Priority) => consumers.priority(p)),
      ...Array.from({ length: this.options.partitions }, (_, i) => consumers.partition(i)),
    ];
    try {
      await Promise.all(
        durables.map(async (d) => {
          const info = await this.jsm.consumers.info(names.stream, d);
          if (info.config.ack_wait !== leaseMs * NS_PER_MS) {
            await this.jsm.consumers.update(names.stream, d, { ack_wait: leaseMs * NS_PER_MS });
          }
        }),
      );
    } catch (err) {
      throw unavailable(`cannot set the lease of group ${group} on ${topic}`, err);
    }
    this.ackWaits.set(key, leaseMs);
  }

  /** Creates the DLQ stream if missing: one message per (topic, group, id) subject, the newest kept. */
  ensureDeadLetterStream(): Promise<void> {
    if (!this.dlqReady) {
      this.dlqReady = (async () => {
        try {
          await this.jsm.streams.info(this.dlq.stream);
          return;
        } catch (err) {
          if (!isNotFound(err)) throw unavailable(`cannot read stream ${this.dlq.stream}`, err);
        }
        try {
          await this.jsm.streams.add({
            name: this.dlq.stream,
            description: 'sluice dead letters',
            subjects: [`${this.options.prefix}_dlq.>`],
            retention: RetentionPolicy.Limits,
            storage: this.options.storage === 'memory' ? StorageType.Memory : StorageType.File,
            max_msgs_per_subject: 1,
            discard: DiscardPolicy.Old,
            num_replicas: 1,
          });
        } catch (err) {
          if (!/already in use|exists/i.test(String((err as Error).message))) {
            throw unavailable(`cannot create stream ${this.dlq.stream}`, err);
          }
        }
      })();
      this.dlqReady.catch(() => {
        this.dlqReady = undefined;
      });
    }
    return this.dlqReady;
  }

  /** Makes fresh NATS headers. */
  headers(): MsgHdrs {
    return natsHeaders();
  }

  private async addConsumer(stream: string, config: Record<string, unknown>): Promise<void> {
    try {
      await this.jsm.consumers.add(stream, config);
    } catch (err) {
      // An existing durable with a different config (e.g. another member's ack_wait) is fine.
      try {
        await this.jsm.consumers.info(stream, String(config.durable_name));
      } catch {
        throw unavailable(`cannot create consumer ${String(config.durable_name)} on ${stream}`, err);
      }
    }
  }
}

/** Whether a JetStream API error means "not found". */
export function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { code?: number }; message?: string } | undefined;
  return (
    e?.api_error?.code === 404 || e?.code === '404' || /not found/i.test(String(e?.message ?? '')) === true
  );
}

/** A `MESSAGING_TRANSPORT_UNAVAILABLE` error wrapping a NATS failure. */
export function unavailable(message: string, cause: unknown): SluiceError {
  return new SluiceError({
    code: 'unavailable',
    reason: MessagingReasons.TRANSPORT_UNAVAILABLE,
    message: `${message}: ${(cause as Error)?.message ?? String(cause)}`,
    cause,
  });
}

/** A `MESSAGING_CLOSED` error (the one every transport uses). */
export { closedError } from '../message-validation.js';
