import type { Channel, GetMessage } from 'amqplib';
import type { DeadLetter, DeadLetterFilter, DeadLetterStore } from '../transport.js';
import { decodeMessage, encodeOptions, SluiceHeader } from './amqp-message.js';
import type { AmqpSession } from './amqp-session.js';
import { type GroupRef, getAll, type RabbitMqTopology } from './rabbitmq-topology.js';
import { partitionOf } from './topology-names.js';

/**
 * Dead letters on RabbitMQ: each group's DLQ is a durable queue
 * (`<prefix>~<topic>~<group>~dlq`) holding the original body, headers, id and
 * priority plus `x-sluice-*` failure headers. AMQP cannot browse a queue, so
 * list/get/count-by-id/replay/purge read the whole DLQ with `basic.get`
 * (unacked) on a dedicated channel, acknowledge the ones removed and return
 * the rest in their order when the channel closes: O(DLQ size) per call, and
 * while a scan runs other scans and `stats()` do not see the messages it holds.
 * A plain `count` without ids reads the queue lengths only.
 */
export class RabbitMqDeadLetters implements DeadLetterStore {
  constructor(
    private readonly session: AmqpSession,
    private readonly topology: RabbitMqTopology,
    private readonly now: () => number,
  ) {}

  async list(filter: DeadLetterFilter & { limit?: number; offset?: number } = {}): Promise<DeadLetter[]> {
    const all: DeadLetter[] = [];
    await this.scan(filter, (_msg, letter) => {
      all.push(letter);
      return 'keep';
    });
    all.sort((a, b) => a.deadLetteredAt.getTime() - b.deadLetteredAt.getTime());
    const offset = filter.offset ?? 0;
    return all.slice(offset, offset + (filter.limit ?? 100));
  }

  async get(topic: string, group: string, id: string): Promise<DeadLetter | undefined> {
    const [letter] = await this.list({ topic, group, ids: [id], limit: 1 });
    return letter;
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    if (filter.ids === undefined) {
      const groups = await this.groups(filter);
      let total = 0;
      for (const g of groups)
        total += Math.max(0, await this.length(this.topology.names.deadLetterQueue(g.topic, g.group)));
      return total;
    }
    let n = 0;
    await this.scan(filter, () => {
      n++;
      return 'keep';
    });
    return n;
  }

  async replay(filter: DeadLetterFilter = {}): Promise<number> {
    let n = 0;
    const names = this.topology.names;
    await this.scan(filter, async (msg, letter): Promise<'remove'> => {
      const d = decodeMessage(msg);
      // Back to this group only: its priority queue, or the ordering partition of its key.
      const queue =
        letter.orderingKey === undefined
          ? names.groupQueue(letter.topic, letter.group)
          : names.partitionQueue(
              letter.topic,
              letter.group,
              partitionOf(letter.orderingKey, this.topology.partitions),
            );
      const options = encodeOptions({
        id: letter.id,
        headers: d.headers,
        priority: letter.priority,
        orderingKey: letter.orderingKey,
        publishedAt: letter.publishedAt.getTime(),
        deliverAt: undefined,
        attempt: 1,
      });
      await this.session.publishConfirmed('', queue, msg.content, options);
      n++;
      return 'remove';
    });
    return n;
  }

  async purge(filter: DeadLetterFilter = {}): Promise<number> {
    let n = 0;
    await this.scan(filter, () => {
      n++;
      return 'remove';
    });
    return n;
  }

  private async groups(filter: DeadLetterFilter): Promise<GroupRef[]> {
    if (filter.topic !== undefined && filter.group !== undefined) {
      return [{ topic: filter.topic, group: filter.group }];
    }
    const all = await this.topology.listGroups(filter.topic);
    return all.filter((g) => filter.group === undefined || g.group === filter.group);
  }

  /**
   * Reads every dead letter of the matching groups; `visit` decides per
   * matching message whether it stays (returned in place) or is removed
   * (acked, after anything `visit` awaited — e.g. the replayed copy's confirm).
   */
  private async scan(
    filter: DeadLetterFilter,
    visit: (msg: GetMessage, letter: DeadLetter) => 'keep' | 'remove' | Promise<'keep' | 'remove'>,
  ): Promise<void> {
    const ids = filter.ids === undefined ? undefined : new Set(filter.ids);
    for (const g of await this.groups(filter)) {
      const queue = this.topology.names.deadLetterQueue(g.topic, g.group);
      await this.session.withChannel('read dead letters', async (ch: Channel) => {
        const exists = await this.queueExists(queue);
        if (!exists) return;
        for (const msg of await getAll(ch, queue)) {
          const letter = toDeadLetter(msg, g, this.now);
          if (ids && !ids.has(letter.id)) continue;
          if ((await visit(msg, letter)) === 'remove') ch.ack(msg);
        }
        // Closing the channel (withChannel) returns every message not acked, in order.
      });
    }
  }

  private async queueExists(queue: string): Promise<boolean> {
    return (await this.length(queue)) >= 0;
  }

  /** Ready messages in a queue, or -1 when it does not exist (a group never declared). */
  private length(queue: string): Promise<number> {
    // A missing queue closes the channel it was checked on: a throwaway channel each time.
    return this.session
      .withChannel('check queue', async (ch) => (await ch.checkQueue(queue)).messageCount)
      .catch((err: { cause?: { code?: number } }) => {
        if (err.cause?.code === 404) return -1;
        throw err;
      });
  }
}

function toDeadLetter(msg: GetMessage, g: GroupRef, now: () => number): DeadLetter {
  const d = decodeMessage(msg);
  const raw = (msg.properties.headers ?? {}) as Record<string, unknown>;
  const str = (name: string) => (raw[name] === undefined ? '' : String(raw[name]));
  const deadAt = Number(raw[SluiceHeader.DEAD_LETTERED_AT]);
  return {
    id: d.id,
    topic: g.topic,
    group: g.group,
    body: d.body,
    headers: d.headers,
    priority: d.priority,
    orderingKey: d.orderingKey,
    error: str(SluiceHeader.ERROR),
    reason: str(SluiceHeader.REASON),
    attempts: Number(raw[SluiceHeader.ATTEMPTS] ?? 0),
    publishedAt: d.publishedAt,
    deadLetteredAt: new Date(Number.isFinite(deadAt) ? deadAt : now()),
  };
}
