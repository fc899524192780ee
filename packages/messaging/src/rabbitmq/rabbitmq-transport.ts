import { SluiceError } from '@sluice/errors';
import { assertName, assertPublishable, closedError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import type {
  ConsumeOptions,
  Consumer,
  DeadLetterStore,
  Delivery,
  GroupStats,
  OutgoingMessage,
  Transport,
  TransportCapabilities,
} from '../transport.js';
import { encodeOptions, toBuffer } from './amqp-message.js';
import { AmqpSession } from './amqp-session.js';
import { RabbitMqConsumer } from './rabbitmq-consumer.js';
import { RabbitMqDeadLetters } from './rabbitmq-dead-letters.js';
import { deleteTopology, RabbitMqTopology } from './rabbitmq-topology.js';
import {
  assertPrefix,
  MAIN_ROUTING_KEY,
  partitionOf,
  partitionRoutingKey,
  topologyNames,
} from './topology-names.js';
import { validateOutgoing } from './validate-outgoing.js';

/** The broker's own limit (`max_message_size`, RabbitMQ 3.10 default 128 MiB). */
const BROKER_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

/** Options of {@link createRabbitMqTransport}. */
export interface RabbitMqTransportOptions {
  /**
   * AMQP URL, e.g. `amqp://guest:guest@127.0.0.1:5672/`. Query parameters
   * `prefix`, `partitions`, `maxMessageBytes` set the options of the same
   * name; the others (`heartbeat`, `frameMax`, …) go to amqplib.
   */
  readonly url: string;
  /**
   * Prefix of every exchange and queue name (`<prefix>~<topic>~<group>`), so
   * several applications or tests share a vhost. `[A-Za-z0-9._:-]`. Default `sluice`.
   */
  readonly prefix?: string;
  /**
   * Ordering partitions per group (quorum single-active-consumer queues);
   * every process using a topic must agree. Default 8.
   */
  readonly partitions?: number;
  /** Largest body accepted at publish, in bytes. Default 16 MiB; at most 128 MiB (the broker's limit). */
  readonly maxMessageBytes?: number;
  /**
   * AMQP heartbeat, in seconds: a consumer process that is alive but frozen
   * loses its unacked messages to other members after about twice this.
   * (A killed process loses them at once: its TCP connection closes.) Default 5.
   */
  readonly heartbeatSeconds?: number;
  /**
   * Longest a keyed message may be held by its consumer, in ms: its retry
   * delay or its `deliverAt` wait (keys keep their order, so these wait in the
   * consumer, unacked). Keep it below the broker's `consumer_timeout`
   * (30 min by default). Default 900 000 (15 min).
   */
  readonly maxKeyedHoldMs?: number;
  /**
   * Messages each member may buffer per ordering partition, so that a key held
   * back by a retry does not stall the other keys of its partition; handlers
   * still run at most `prefetch` at a time. Default 64.
   */
  readonly keyedBuffer?: number;
  /**
   * How long an operation waits for the connection to come back after it was
   * lost, in ms, before failing `MESSAGING_TRANSPORT_UNAVAILABLE`. The
   * transport reconnects by itself (100 ms doubling to 5 s) and consumers
   * resume. Default 10 000.
   */
  readonly connectWaitMs?: number;
  /** Wall clock, epoch ms (due times cross processes). Default `Date.now`. */
  readonly now?: () => number;
}

/** A RabbitMQ {@link Transport} with a teardown helper for tests. */
export interface RabbitMqTransport extends Transport {
  readonly kind: 'rabbitmq';
  /** The name prefix in use. */
  readonly prefix: string;
  /**
   * Deletes every exchange and queue declared under this prefix (by any
   * process), then closes. Messages in them are lost: for tests and teardown.
   */
  deleteTopology(): Promise<void>;
}

function intOption(name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new SluiceError({
      code: 'invalid_argument',
      reason: MessagingReasons.INVALID_URL,
      message: `RabbitMQ transport option ${name} must be an integer from ${min} to ${max} (got ${String(value)})`,
      details: { violations: [{ field: name, message: `must be an integer from ${min} to ${max}` }] },
    });
  }
  return n;
}

/** Splits the transport's own query parameters off an AMQP URL. */
function parseUrl(options: RabbitMqTransportOptions) {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch (cause) {
    throw new SluiceError({
      code: 'invalid_argument',
      reason: MessagingReasons.INVALID_URL,
      message: `not a URL: ${String(options.url)}`,
      cause,
    });
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
    throw new SluiceError({
      code: 'invalid_argument',
      reason: MessagingReasons.INVALID_URL,
      message: `the RabbitMQ transport needs an amqp:// or amqps:// URL (got ${url.protocol})`,
    });
  }
  const take = (name: string) => {
    const v = url.searchParams.get(name);
    url.searchParams.delete(name);
    return v ?? undefined;
  };
  const prefix = options.prefix ?? take('prefix') ?? 'sluice';
  const partitions = intOption('partitions', options.partitions ?? take('partitions') ?? 8, 1, 256);
  const maxMessageBytes = intOption(
    'maxMessageBytes',
    options.maxMessageBytes ?? take('maxMessageBytes') ?? 16 * 1024 * 1024,
    1,
    BROKER_MAX_MESSAGE_BYTES,
  );
  const heartbeat = intOption('heartbeatSeconds', options.heartbeatSeconds ?? 5, 1, 600);
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(heartbeat));
  const maxKeyedHoldMs = intOption('maxKeyedHoldMs', options.maxKeyedHoldMs ?? 900_000, 0, 2 ** 31 - 1);
  const connectWaitMs = intOption('connectWaitMs', options.connectWaitMs ?? 10_000, 1, 2 ** 31 - 1);
  const keyedBuffer = intOption('keyedBuffer', options.keyedBuffer ?? 64, 1, 65_535);
  assertPrefix(prefix);
  return {
    amqpUrl: url.toString(),
    prefix,
    partitions,
    maxMessageBytes,
    maxKeyedHoldMs,
    keyedBuffer,
    connectWaitMs,
  };
}

/**
 * Creates the RabbitMQ (AMQP 0-9-1) transport: a direct exchange per topic; per
 * group a classic priority queue, ordering-partition quorum queues and a DLQ;
 * publisher confirms with persistent messages; delayed delivery and delayed
 * retries through a ladder of TTL queues. Connects before it resolves.
 * Decision record 009 explains the design.
 *
 * @example
 * ```ts
 * const transport = await createRabbitMqTransport({ url: 'amqp://guest:guest@127.0.0.1:5672/' });
 * await transport.declareGroup('orders', 'billing');
 * await transport.publish('orders', [{ id: 'o-1', body: new TextEncoder().encode('{}') }]);
 * const consumer = await transport.consume('orders', 'billing', async (d) => d.ack(), { prefetch: 20 });
 * ```
 */
export async function createRabbitMqTransport(options: RabbitMqTransportOptions): Promise<RabbitMqTransport> {
  const config = parseUrl(options);
  const now = options.now ?? Date.now;
  const session = await AmqpSession.open(config.amqpUrl, { connectWaitMs: config.connectWaitMs });
  const names = topologyNames(config.prefix);
  const topology = new RabbitMqTopology(session, names, config.partitions);
  const deadLetters = new RabbitMqDeadLetters(session, topology, now);
  const consumers = new Set<RabbitMqConsumer>();
  let closing: Promise<void> | undefined;

  const capabilities: TransportCapabilities = {
    priority: 'native',
    delayedDelivery: 'emulated',
    orderingKey: 'emulated',
    deadLetters: 'emulated',
    maxMessageBytes: config.maxMessageBytes,
  };

  const ensureOpen = () => {
    if (closing) throw closedError('RabbitMQ transport');
  };

  const transport: RabbitMqTransport = {
    kind: 'rabbitmq',
    prefix: config.prefix,
    capabilities,
    deadLetters: guardStore(deadLetters, ensureOpen),

    async declareGroup(topic, group) {
      ensureOpen();
      assertName('topic', topic);
      assertName('group', group);
      await topology.declareGroup(topic, group);
    },

    async publish(topic: string, messages: readonly OutgoingMessage[]) {
      ensureOpen();
      const publishedAt = now();
      assertPublishable(topic, messages, capabilities, publishedAt);
      validateOutgoing(messages, {
        maxKeyedHoldMs: config.maxKeyedHoldMs,
        now: publishedAt,
      });
      if (messages.length === 0) return;
      await topology.ensureExchange(topic);
      const exchange = names.exchange(topic);
      const items = messages.map((m) => ({
        exchange,
        routingKey:
          m.orderingKey === undefined
            ? MAIN_ROUTING_KEY
            : partitionRoutingKey(partitionOf(m.orderingKey, config.partitions)),
        content: toBuffer(m.body),
        options: encodeOptions({
          id: m.id,
          headers: m.headers ?? {},
          priority: m.priority ?? 'normal',
          orderingKey: m.orderingKey,
          publishedAt,
          deliverAt: m.deliverAt?.getTime(),
          attempt: 1,
        }),
      }));
      try {
        await session.publishMany(items);
      } catch (err) {
        // A publish to a deleted exchange closes the channel: declare it again next time.
        topology.forgetExchange(topic);
        throw err;
      }
    },

    async consume(
      topic: string,
      group: string,
      handler: (delivery: Delivery) => Promise<void>,
      consumeOptions: ConsumeOptions = {},
    ): Promise<Consumer> {
      ensureOpen();
      assertName('topic', topic);
      assertName('group', group);
      if (typeof handler !== 'function') {
        throw new SluiceError({
          code: 'invalid_argument',
          reason: MessagingReasons.INVALID_MESSAGE,
          message: 'consume needs a handler function',
        });
      }
      await topology.declareGroup(topic, group);
      const consumer = await RabbitMqConsumer.start(
        {
          session,
          topology,
          topic,
          group,
          now,
          maxKeyedHoldMs: config.maxKeyedHoldMs,
          keyedBuffer: config.keyedBuffer,
          onStopped: (c) => consumers.delete(c),
        },
        handler,
        consumeOptions,
      );
      consumers.add(consumer);
      return consumer;
    },

    async stats(topic?: string): Promise<GroupStats[]> {
      ensureOpen();
      if (topic !== undefined) assertName('topic', topic);
      const groups = await topology.listGroups(topic);
      return session.withChannel('read queue counts', async (ch) => {
        const out: GroupStats[] = [];
        for (const g of groups) {
          let pending = (await ch.checkQueue(names.groupQueue(g.topic, g.group))).messageCount;
          for (let i = 0; i < config.partitions; i++) {
            pending += (await ch.checkQueue(names.partitionQueue(g.topic, g.group, i))).messageCount;
          }
          const deadLettered = (await ch.checkQueue(names.deadLetterQueue(g.topic, g.group))).messageCount;
          out.push({
            topic: g.topic,
            group: g.group,
            pending,
            inFlight: [...consumers]
              .filter((c) => c.topic === g.topic && c.group === g.group)
              .reduce((n, c) => n + c.inFlight, 0),
            deadLettered,
          });
        }
        return out;
      });
    },

    close() {
      if (!closing) {
        closing = (async () => {
          await Promise.allSettled([...consumers].map((c) => c.stop()));
          await session.close();
        })();
      }
      return closing;
    },

    async deleteTopology() {
      ensureOpen();
      await Promise.allSettled([...consumers].map((c) => c.stop(5_000)));
      await deleteTopology(session, names, config.partitions);
      await transport.close();
    },
  };
  return transport;
}

/** Wraps the DLQ store so that it refuses work after close. */
function guardStore(store: DeadLetterStore, ensureOpen: () => void): DeadLetterStore {
  return {
    async list(f) {
      ensureOpen();
      return store.list(f);
    },
    async get(t, g, id) {
      ensureOpen();
      return store.get(t, g, id);
    },
    async count(f) {
      ensureOpen();
      return store.count(f);
    },
    async replay(f) {
      ensureOpen();
      return store.replay(f);
    },
    async purge(f) {
      ensureOpen();
      return store.purge(f);
    },
  };
}
