import type { FieldViolation } from '@sluice/errors';
import pg from 'pg';
import {
  assertName,
  assertPublishable,
  closedError,
  messagingError,
  positiveIntOption,
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

import { PostgresConsumer } from './postgres-consumer.js';
import { postgresDeadLetters } from './postgres-dead-letters.js';
import { PostgresListener } from './postgres-listener.js';
import { DEFAULT_SCHEMA, invalidUrl, type PostgresTransportOptions } from './postgres-options.js';
import { SCHEMA_NAME_PATTERN } from './postgres-schema.js';
import { PostgresStore, storeError } from './postgres-store.js';
import { DUE_SUFFIX } from './postgres-write-sql.js';

export type { PostgresTransportOptions } from './postgres-options.js';

const DEFAULT_PREFETCH = 10;
const DEFAULT_LEASE_MS = 10_000;

/**
 * PostgreSQL text cannot hold NUL characters: refuse them at publish with the
 * field, instead of failing the batch at the database.
 */
function assertNoNul(messages: readonly OutgoingMessage[]): void {
  const violations: FieldViolation[] = [];
  const nul = (s: string) => s.includes('\u0000');
  messages.forEach((m, i) => {
    if (nul(m.id)) violations.push({ field: `messages.${i}.id`, message: 'must not contain NUL' });
    if (m.orderingKey !== undefined && nul(m.orderingKey))
      violations.push({ field: `messages.${i}.orderingKey`, message: 'must not contain NUL' });
    for (const [k, v] of Object.entries(m.headers ?? {}))
      if (nul(k) || nul(v))
        violations.push({ field: `messages.${i}.headers.${k}`, message: 'must not contain NUL' });
  });
  if (violations.length > 0)
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      `invalid message: ${violations.map((v) => `${v.field}: ${v.message}`).join('; ')}`,
      violations,
    );
}

/**
 * The PostgreSQL transport: one row per message per group in a table of the
 * bus's schema, claimed in batches with `UPDATE … FOR UPDATE SKIP LOCKED …
 * RETURNING` under a lease renewed by heartbeat, consumers woken by
 * `LISTEN/NOTIFY` (sent in the committing transaction) with a fallback poll.
 * Every capability is native. Creates the schema and tables if missing.
 *
 * @example
 * ```ts
 * const transport = await createPostgresTransport({
 *   connectionString: 'postgres://postgres@127.0.0.1:5432/test',
 *   schema: 'shop_bus',
 * });
 * await transport.consume('emails', 'default', async (d) => { send(d.body); await d.ack(); });
 * await transport.publish('emails', [{ id: 'e-1', body: new TextEncoder().encode('{}') }]);
 * ```
 * @throws `invalid_argument` / `MESSAGING_INVALID_URL` for bad options;
 *   `unavailable` / `MESSAGING_TRANSPORT_UNAVAILABLE` when the database cannot be reached.
 */
export async function createPostgresTransport(options: PostgresTransportOptions): Promise<Transport> {
  if (typeof options?.connectionString !== 'string' || options.connectionString.length === 0)
    throw invalidUrl('connectionString', 'must be a postgres:// URL');
  const schema = options.schema ?? DEFAULT_SCHEMA;
  if (typeof schema !== 'string' || !SCHEMA_NAME_PATTERN.test(schema))
    throw invalidUrl('schema', 'must be a lower-case SQL identifier: [a-z_][a-z0-9_]{0,62}');
  const urlOption = (field: string, value: unknown, max: number): number => {
    try {
      return positiveIntOption(field, value, max);
    } catch {
      throw invalidUrl(field, `must be an integer from 1 to ${max}`);
    }
  };
  const poolSize = urlOption('poolSize', options.poolSize ?? 5, 100);
  const maxMessageBytes = urlOption(
    'maxMessageBytes',
    options.maxMessageBytes ?? 1024 * 1024,
    64 * 1024 * 1024,
  );
  const pollMs = urlOption('pollMs', options.pollMs ?? 1_000, 600_000);

  // Named in pg_stat_activity (an application_name in the URL wins).
  const connection: pg.ClientConfig = {
    connectionString: options.connectionString,
    application_name: `sluice-bus:${schema}`,
  };
  // Publishes (one group-commit lane: one transaction at a time), replays and DDL.
  const durablePool = new pg.Pool({
    ...connection,
    max: options.asyncSettles === true ? 2 : Math.max(2, poolSize),
    idleTimeoutMillis: 30_000,
  });
  const pool =
    options.asyncSettles !== true
      ? durablePool
      : new pg.Pool({
          ...connection,
          max: poolSize,
          idleTimeoutMillis: 30_000,
          // Claims and settles need not wait for the WAL flush: losing the last ones redelivers, never loses.
          options: '-c synchronous_commit=off',
        });
  const endPools = async () => {
    await Promise.allSettled([pool.end(), pool === durablePool ? undefined : durablePool.end()]);
  };
  // An idle pooled connection that breaks reports here; the next query reconnects.
  pool.on('error', () => {});
  durablePool.on('error', () => {});
  const store = new PostgresStore(pool, durablePool, schema, schema);
  try {
    await store.migrate();
  } catch (e) {
    await endPools();
    throw storeError(e);
  }

  const consumers = new Set<PostgresConsumer>();
  let closed = false;
  let closing: Promise<void> | undefined;
  const wakeLocal = (topic: string, recheckDue = false) => {
    for (const c of consumers) if (c.topic === topic) c.wake(recheckDue);
  };
  const listener =
    options.listen === false
      ? undefined
      : new PostgresListener({
          connection: { ...connection, application_name: `sluice-listen:${schema}` },
          channel: schema,
          // `<topic>@due` announces a retry or a scheduled message: recheck due times too.
          onNotify: (payload) =>
            payload.endsWith(DUE_SUFFIX)
              ? wakeLocal(payload.slice(0, -DUE_SUFFIX.length), true)
              : wakeLocal(payload),
          onReconnect: () => {
            for (const c of consumers) c.wake(true);
          },
          minReconnectMs: 100,
          maxReconnectMs: 5_000,
        });
  try {
    await listener?.start();
  } catch (e) {
    await endPools();
    throw storeError(e);
  }

  const guard = () => {
    if (closed) throw closedError('postgres transport');
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
    wakeLocal: (topic: string) => wakeLocal(topic),
    detach(c: PostgresConsumer) {
      consumers.delete(c);
    },
  };

  const transport: Transport = {
    kind: 'postgres',
    capabilities,

    async declareGroup(topic: string, group: string): Promise<void> {
      guard();
      assertName('topic', topic);
      assertName('group', group);
      try {
        await store.declareGroup(topic, group);
      } catch (e) {
        throw storeError(e);
      }
    },

    async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
      guard();
      assertPublishable(topic, messages, capabilities);
      assertNoNul(messages);
      if (messages.length === 0) return;
      await store.enqueue({ kind: 'publish', topic, messages: [...messages] });
      // Local consumers need not wait for the NOTIFY round trip.
      wakeLocal(
        topic,
        messages.some((m) => m.deliverAt !== undefined),
      );
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
          [{ field: 'handler', message: 'must be a function' }],
        );
      const prefetch = positiveIntOption('prefetch', consumeOptions.prefetch ?? DEFAULT_PREFETCH, 10_000);
      const leaseMs = positiveIntOption(
        'leaseMs',
        consumeOptions.leaseMs ?? DEFAULT_LEASE_MS,
        24 * 3_600_000,
      );
      await transport.declareGroup(topic, group);
      const consumer = new PostgresConsumer(host, { topic, group, prefetch, leaseMs, pollMs }, handler);
      consumers.add(consumer);
      consumer.start();
      return consumer;
    },

    deadLetters: undefined as unknown as DeadLetterStore,

    async stats(topic?: string): Promise<GroupStats[]> {
      guard();
      try {
        return (await store.stats(topic)).map((r) => ({
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
        await store.drained();
        await listener?.close();
        await endPools();
      })();
      return closing;
    },
  };
  (transport as { deadLetters: DeadLetterStore }).deadLetters = postgresDeadLetters(
    store,
    guard,
    (topics) => {
      for (const t of topics) wakeLocal(t);
    },
  );
  return transport;
}
