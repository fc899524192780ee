import { SluiceError } from '@sluice/errors';
import type { Channel } from 'amqplib';
import { MessagingReasons } from '../reasons.js';
import type { AmqpSession } from './amqp-session.js';
import { MAX_DELAY_LEVEL_MS, MIN_DELAY_LEVEL_MS } from './delay-levels.js';
import { MAIN_ROUTING_KEY, partitionRoutingKey, type TopologyNames } from './topology-names.js';

/** A (topic, group) pair as recorded in the group catalog. */
export interface GroupRef {
  readonly topic: string;
  readonly group: string;
}

/** A catalog entry: a topic (its exchange exists) or a group of a topic, with the partition count it was declared with. */
interface CatalogEntry {
  readonly topic: string;
  readonly group?: string;
  readonly partitions?: number;
}

/**
 * Declares and remembers the AMQP objects of one transport (see
 * {@link TopologyNames}). Every declaration is idempotent on the broker; the
 * caches only save round trips within this process.
 */
export class RabbitMqTopology {
  private readonly exchanges = new Map<string, Promise<void>>();
  private readonly groups = new Map<string, Promise<void>>();
  private readonly delays = new Map<number, Promise<void>>();
  private catalog: Promise<Set<string>> | undefined;

  constructor(
    private readonly session: AmqpSession,
    readonly names: TopologyNames,
    readonly partitions: number,
  ) {}

  /** Declares a topic's exchange (a durable direct exchange). */
  ensureExchange(topic: string): Promise<void> {
    return once(this.exchanges, topic, async () => {
      await this.register({ topic }); // first: a partition-count mismatch changes nothing
      await this.session.withChannel('declare exchange', async (ch) => {
        await ch.assertExchange(this.names.exchange(topic), 'direct', { durable: true });
      });
    });
  }

  /** Forgets that a topic's exchange was declared (after a publish failed: it may have been deleted). */
  forgetExchange(topic: string): void {
    this.exchanges.delete(topic);
  }

  /**
   * Declares a group: its classic priority queue (un-keyed messages), one
   * quorum single-active-consumer queue per ordering partition, its DLQ, the
   * bindings from the topic exchange, and its catalog entry.
   */
  declareGroup(topic: string, group: string): Promise<void> {
    return once(this.groups, `${topic}\u0000${group}`, async () => {
      await this.ensureExchange(topic);
      await this.session.withChannel('declare group', async (ch) => {
        const exchange = this.names.exchange(topic);
        const main = this.names.groupQueue(topic, group);
        await ch.assertQueue(main, { durable: true, arguments: { 'x-max-priority': 2 } });
        await ch.bindQueue(main, exchange, MAIN_ROUTING_KEY);
        for (let i = 0; i < this.partitions; i++) {
          const q = this.names.partitionQueue(topic, group, i);
          await ch.assertQueue(q, {
            durable: true,
            arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true },
          });
          await ch.bindQueue(q, exchange, partitionRoutingKey(i));
        }
        await ch.assertQueue(this.names.deadLetterQueue(topic, group), { durable: true });
      });
      await this.register({ topic, group });
    });
  }

  /**
   * Declares one delay level: a fanout exchange into a quorum queue whose
   * queue TTL is `ms` and whose expired messages are dead-lettered
   * (at-least-once) to the default exchange with their original routing key —
   * the name of the queue they return to.
   */
  ensureDelayLevel(ms: number): Promise<void> {
    return once(this.delays, ms, () =>
      this.session.withChannel('declare delay level', async (ch) => {
        const name = this.names.delayLevel(ms);
        await ch.assertExchange(name, 'fanout', { durable: true });
        await ch.assertQueue(name, {
          durable: true,
          arguments: {
            'x-queue-type': 'quorum',
            'x-message-ttl': ms,
            'x-dead-letter-exchange': '',
            'x-dead-letter-strategy': 'at-least-once',
            'x-overflow': 'reject-publish',
          },
        });
        await ch.bindQueue(name, name, '');
      }),
    );
  }

  /**
   * Every group declared under this prefix, by any process: the catalog queue
   * holds one small message per group; it is read with basic.get and every
   * message is returned to the queue when the read channel closes.
   */
  async listGroups(topic?: string): Promise<GroupRef[]> {
    const entries = await this.readCatalog();
    this.catalog = Promise.resolve(entries);
    return [...entries]
      .map((e) => JSON.parse(e) as CatalogEntry)
      .filter((g): g is GroupRef => g.group !== undefined && (topic === undefined || g.topic === topic))
      .sort((a, b) =>
        a.topic === b.topic ? a.group.localeCompare(b.group) : a.topic.localeCompare(b.topic),
      );
  }

  /**
   * Records a topic or group in the catalog once. A topic first used with
   * another partition count is refused: its publishers would route keys to
   * partitions its groups do not have.
   */
  private async register(ref: CatalogEntry): Promise<void> {
    const entry = JSON.stringify(
      ref.group === undefined
        ? { topic: ref.topic, partitions: this.partitions }
        : { topic: ref.topic, group: ref.group, partitions: this.partitions },
    );
    if (!this.catalog) this.catalog = this.readCatalog();
    const known = await this.catalog;
    if (known.has(entry)) return;
    for (const e of known) {
      const other = JSON.parse(e) as CatalogEntry;
      if (other.topic === ref.topic && other.group === undefined && other.partitions !== this.partitions) {
        throw new SluiceError({
          code: 'failed_precondition',
          reason: MessagingReasons.INVALID_URL,
          message: `topic ${ref.topic} was set up with partitions=${String(other.partitions)}; this transport has partitions=${this.partitions} (every process using a topic must agree)`,
          details: {
            violations: [
              { field: 'partitions', message: `must be ${String(other.partitions)} for topic ${ref.topic}` },
            ],
          },
        });
      }
    }
    known.add(entry);
    await this.session.publishConfirmed('', this.names.catalogQueue(), Buffer.from(entry), {
      persistent: true,
    });
  }

  private async readCatalog(): Promise<Set<string>> {
    return this.session.withChannel('read group catalog', async (ch) => {
      await ch.assertQueue(this.names.catalogQueue(), { durable: true });
      const entries = new Set<string>();
      for (const msg of await getAll(ch, this.names.catalogQueue()))
        entries.add(msg.content.toString('utf8'));
      return entries;
    });
  }
}

/** Reads every ready message of a queue without acknowledging it (returned when the channel closes). */
export async function getAll(ch: Channel, queue: string) {
  const out = [];
  // Bounded by the queue's length at the start: a busy queue cannot keep this loop going forever.
  const { messageCount } = await ch.checkQueue(queue);
  for (let i = 0; i < messageCount; i++) {
    const msg = await ch.get(queue, { noAck: false });
    if (msg === false) break;
    out.push(msg);
  }
  return out;
}

function once<K>(cache: Map<K, Promise<void>>, key: K, make: () => Promise<void>): Promise<void> {
  let p = cache.get(key);
  if (!p) {
    p = make();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/**
 * Deletes every exchange and queue a transport with this prefix may have
 * declared (groups found in the catalog, every delay level, the catalog).
 * For tests and teardown; messages in them are lost.
 */
export async function deleteTopology(
  session: AmqpSession,
  names: TopologyNames,
  partitions: number,
): Promise<void> {
  await session.withChannel('delete topology', async (ch) => {
    await ch.assertQueue(names.catalogQueue(), { durable: true });
    const entries = (await getAll(ch, names.catalogQueue())).map(
      (m) => JSON.parse(m.content.toString('utf8')) as CatalogEntry,
    );
    const topics = new Set<string>();
    for (const { topic, group, partitions: declared } of entries) {
      topics.add(topic);
      if (group === undefined) continue;
      await ch.deleteQueue(names.groupQueue(topic, group));
      for (let i = 0; i < (declared ?? partitions); i++) {
        await ch.deleteQueue(names.partitionQueue(topic, group, i));
      }
      await ch.deleteQueue(names.deadLetterQueue(topic, group));
    }
    for (const topic of topics) await ch.deleteExchange(names.exchange(topic));
    for (let ms = MIN_DELAY_LEVEL_MS; ms <= MAX_DELAY_LEVEL_MS; ms *= 2) {
      await ch.deleteQueue(names.delayLevel(ms));
      await ch.deleteExchange(names.delayLevel(ms));
    }
  });
  await session.withChannel('delete topology', async (ch) => {
    await ch.deleteQueue(names.catalogQueue());
  });
}
