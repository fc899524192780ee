import {
  assertName,
  assertPublishable,
  closedError,
  messagingError,
  positiveIntOption as positiveInt,
} from '../message-validation.js';
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
import { Doorbell } from './doorbell.js';
import { EmbeddedConsumer } from './embedded-consumer.js';
import { embeddedDeadLetters } from './embedded-dead-letters.js';
import { EmbeddedStore, storeError } from './embedded-store.js';

/** Options of {@link createEmbeddedTransport}. */
export interface EmbeddedTransportOptions {
  /** The SQLite file (created with its directory if missing). Every process that opens it shares the bus. */
  readonly path: string;
  /**
   * `normal` (default): WAL with `synchronous=NORMAL`: a commit survives the
   * process crashing (SIGKILL, OOM), but the last commits before a power loss
   * or OS crash may be lost (the WAL is fsynced at checkpoints, not at each
   * commit); ~8 µs per commit here. `full`: fsync at every commit, survives
   * power loss too; ~150 µs per commit here.
   */
  readonly synchronous?: 'normal' | 'full';
  /** How long a writer waits for another process's write lock before failing `unavailable`, in ms. Default 5 000. */
  readonly busyTimeoutMs?: number;
  /** Largest body accepted, in bytes. Default 1 MiB (1 048 576). */
  readonly maxMessageBytes?: number;
  /** Wake consumers in other processes with a UDP datagram on 127.0.0.1 (the doorbell). Default true. */
  readonly doorbell?: boolean;
  /** First poll interval after an empty claim, in ms; it doubles while idle up to `maxPollMs`. Default 25. */
  readonly minPollMs?: number;
  /** Longest poll interval, in ms: the latency bound when a doorbell is lost. Default 1 000. */
  readonly maxPollMs?: number;
}

const DEFAULT_PREFETCH = 10;
const DEFAULT_LEASE_MS = 10_000;

/**
 * The embedded transport: a durable log in one SQLite file (WAL) shared by the
 * processes of one machine. Claims are one `UPDATE … RETURNING` per batch;
 * leases are renewed while handlers run; consumers are woken in process and,
 * across processes, by a UDP doorbell on 127.0.0.1, with an adaptive poll as
 * the fallback. Every capability is native.
 *
 * @example
 * ```ts
 * const transport = createEmbeddedTransport({ path: './data/bus.db' });
 * await transport.consume('emails', 'default', async (d) => { send(d.body); await d.ack(); });
 * await transport.publish('emails', [{ id: 'e-1', body: new TextEncoder().encode('{}') }]);
 * ```
 */
export function createEmbeddedTransport(options: EmbeddedTransportOptions): Transport {
  if (typeof options?.path !== 'string' || options.path.length === 0)
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_URL,
      'embedded transport needs a path',
      [{ field: 'path', message: 'a SQLite file path' }],
    );
  const synchronous = options.synchronous ?? 'normal';
  if (synchronous !== 'normal' && synchronous !== 'full')
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_URL,
      'synchronous must be normal or full',
      [{ field: 'synchronous', message: 'normal or full' }],
    );
  const maxMessageBytes = positiveInt(
    'maxMessageBytes',
    options.maxMessageBytes ?? 1024 * 1024,
    512 * 1024 * 1024,
  );
  const minPollMs = positiveInt('minPollMs', options.minPollMs ?? 25, 60_000);
  const maxPollMs = Math.max(minPollMs, positiveInt('maxPollMs', options.maxPollMs ?? 1_000, 600_000));
  const store = new EmbeddedStore(options.path, {
    synchronous,
    busyTimeoutMs: options.busyTimeoutMs ?? 5_000,
  });

  const consumers = new Set<EmbeddedConsumer>();
  let closed = false;
  let closing: Promise<void> | undefined;

  const notifyLocal = (topic: string) => {
    for (const c of consumers) if (c.topic === topic) c.wake();
  };
  const doorbell =
    options.doorbell === false ? undefined : new Doorbell(store.db, (t) => store.doorbellsOf(t), notifyLocal);
  const ring = (topic: string) => {
    notifyLocal(topic);
    doorbell?.ring(topic);
  };
  const guard = () => {
    if (closed) throw closedError('embedded transport');
  };

  const capabilities: TransportCapabilities = Object.freeze({
    priority: 'native',
    delayedDelivery: 'native',
    orderingKey: 'native',
    deadLetters: 'native',
    maxMessageBytes,
  });

  const host = {
    store,
    ring,
    detach(c: EmbeddedConsumer) {
      if (consumers.delete(c)) doorbell?.unregister(c.topic);
    },
  };

  const transport: Transport = {
    kind: 'embedded',
    capabilities,

    async declareGroup(topic: string, group: string): Promise<void> {
      guard();
      assertName('topic', topic);
      assertName('group', group);
      try {
        store.declareGroup(topic, group, Date.now());
      } catch (e) {
        throw storeError(e);
      }
    },

    async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
      guard();
      assertPublishable(topic, messages, capabilities);
      if (messages.length === 0) return;
      await store.enqueue(() => store.insertMessages(topic, messages, Date.now()), messages.length === 1);
      ring(topic);
    },

    async consume(
      topic: string,
      group: string,
      handler: (delivery: Delivery) => Promise<void>,
      consumeOptions: ConsumeOptions = {},
    ): Promise<Consumer> {
      guard();
      assertName('topic', topic);
      assertName('group', group);
      if (typeof handler !== 'function')
        throw messagingError(
          'invalid_argument',
          MessagingReasons.INVALID_MESSAGE,
          'handler must be a function',
        );
      const prefetch = positiveInt('prefetch', consumeOptions.prefetch ?? DEFAULT_PREFETCH, 10_000);
      const leaseMs = positiveInt('leaseMs', consumeOptions.leaseMs ?? DEFAULT_LEASE_MS, 24 * 3_600_000);
      await transport.declareGroup(topic, group);
      const consumer = new EmbeddedConsumer(
        host,
        { topic, group, prefetch, leaseMs, minPollMs, maxPollMs },
        handler,
      );
      consumers.add(consumer);
      try {
        await doorbell?.register(topic);
      } catch {
        // No doorbell (no UDP): the adaptive poll still delivers.
      }
      consumer.start();
      return consumer;
    },

    deadLetters: undefined as unknown as DeadLetterStore,

    async stats(topic?: string): Promise<GroupStats[]> {
      guard();
      try {
        return store.stats(topic).map((r) => ({
          topic: r.topic,
          group: r.grp,
          pending: r.pending,
          inFlight: r.in_flight,
          deadLettered: r.dead,
        }));
      } catch (e) {
        throw storeError(e);
      }
    },

    close(): Promise<void> {
      if (closing) return closing;
      closed = true;
      closing = (async () => {
        await Promise.allSettled([...consumers].map((c) => c.stop()));
        doorbell?.close();
        store.close();
      })();
      return closing;
    },
  };
  (transport as { deadLetters: DeadLetterStore }).deadLetters = embeddedDeadLetters(
    store,
    guard,
    (topics) => {
      for (const t of topics) ring(t);
    },
  );
  return transport;
}
