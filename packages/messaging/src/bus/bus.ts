import type { Tracer } from '@opentelemetry/api';
import {
  createEnvelope,
  type EnvelopeInput,
  type EventEnvelope,
  type EventRegistry,
  TRACEPARENT_PATTERN,
} from '@sluice/contracts';
import { type Backoff, type Disposer, exponential } from '@sluice/resilience';
import { type CreateTransportOptions, createTransport } from '../create-transport.js';
import { assertName, closedError, messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import {
  type DeadLetterStore,
  type Delivery,
  type GroupStats,
  type OutgoingMessage,
  type Priority,
  type Transport,
  WORK_QUEUE_GROUP,
} from '../transport.js';
import {
  defaultTracer,
  endWithError,
  injectHeaders,
  startProcessSpan,
  startPublishSpan,
  withSpan,
} from './bus-tracing.js';
import { checkEnvelope, decodeEnvelope, encodeEnvelope, invalidEvent } from './event-codec.js';
import { decideRetry, errorMessage } from './retry-decision.js';

/** Options of {@link createBus}. Give `transport` or `url`. */
export interface BusOptions {
  /** A transport to use. The bus does not close a transport it was given. */
  readonly transport?: Transport;
  /** Or a transport URL (`sqlite:./data/bus.db`, `postgres://…`, `nats://…`, `amqp://…`); the bus owns and closes it. */
  readonly url?: string;
  /** Options of the transport opened from `url`. */
  readonly transportOptions?: CreateTransportOptions;
  /** This service's name: the default `source` of events made by {@link Bus.event}, and a span attribute. */
  readonly source: string;
  /**
   * Event types known to this service. With a registry, events are validated
   * (envelope, known type and version, data schema) at publish and at
   * consume; without one, only the envelope is checked.
   */
  readonly registry?: EventRegistry;
  /** Largest encoded event, in bytes. Default: the transport's `maxMessageBytes`. */
  readonly maxMessageBytes?: number;
  /** OpenTelemetry tracer. Default: `trace.getTracer('@sluice/messaging')` (a no-op without an SDK). */
  readonly tracer?: Tracer;
}

/** Options of {@link Bus.publish} and {@link Bus.send}. */
export interface PublishOptions {
  /** Topic to publish to. Default: the event's `type` (`order.placed`). */
  readonly topic?: string;
  /** Events with the same key are handled in order, one at a time per group (e.g. the order id). */
  readonly orderingKey?: string;
  /** Default `normal`. */
  readonly priority?: Priority;
  /** Not delivered before this time. */
  readonly deliverAt?: Date;
  /** Extra string headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One event of {@link Bus.publishBatch}. */
export interface PublishEntry extends PublishOptions {
  readonly event: EventEnvelope;
}

/** Options of {@link Bus.work} (a work queue's consumer). */
export interface WorkOptions {
  /** Handlers running at once in this consumer. Default 10. */
  readonly prefetch?: number;
  /** Deliveries before the DLQ (`MESSAGING_MAX_ATTEMPTS`), counting the first. Default 5. */
  readonly maxAttempts?: number;
  /** Delay before redelivery after a failure. Default `exponential({ baseMs: 1_000, maxMs: 60_000 })` (full jitter). */
  readonly backoff?: Backoff;
  /** Lease of a delivery without renewal, in ms: how soon a crashed consumer's message moves on. Default 10 000. */
  readonly leaseMs?: number;
}

/** Options of {@link Bus.subscribe}. */
export interface SubscribeOptions extends WorkOptions {
  /** The consumer group: each group gets every event; members of a group compete. */
  readonly group: string;
}

/** What a handler knows about the delivery it handles. */
export interface MessageContext {
  readonly topic: string;
  readonly group: string;
  /** 1 on the first delivery. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly priority: Priority;
  readonly orderingKey: string | undefined;
  readonly publishedAt: Date;
  /** Renews the lease now (it is renewed automatically every `leaseMs / 3`). */
  extendLease(): Promise<void>;
}

/**
 * Handles one event. Returning acknowledges it. Throwing: a non-retryable
 * `SluiceError` sends it to the DLQ at once; anything else is retried with
 * backoff until `maxAttempts`, then dead-lettered.
 */
export type EventHandler<T = unknown> = (
  event: EventEnvelope<T>,
  ctx: MessageContext,
) => Promise<void> | void;

/** A running subscription or work-queue consumer. */
export interface Subscription {
  readonly topic: string;
  readonly group: string;
  /** Stops fetching and waits for in-flight handlers (up to `timeoutMs`, default 30 000). */
  stop(timeoutMs?: number): Promise<void>;
}

/** Emitted when the bus dead-letters a delivery. */
export interface DeadLetterEvent {
  readonly topic: string;
  readonly group: string;
  readonly id: string;
  readonly attempt: number;
  /** `MESSAGING_INVALID_MESSAGE`, `MESSAGING_MAX_ATTEMPTS`, or the handler's SluiceError reason. */
  readonly reason: string;
  readonly error: string;
}

/** Emitted when a failed delivery is scheduled for redelivery. */
export interface RetryEvent {
  readonly topic: string;
  readonly group: string;
  readonly id: string;
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: string;
}

/** Events over a transport: validated CloudEvents envelopes, retries, dead letters, traces. */
export interface Bus {
  readonly transport: Transport;
  readonly source: string;
  /** Builds an envelope with this bus's `source` (see `createEnvelope` of `@sluice/contracts`). */
  event<T, K extends string>(
    input: Omit<EnvelopeInput<T, K>, 'source'> & { source?: string },
  ): EventEnvelope<T, K>;
  /**
   * Validates and publishes one event; resolves once the transport made it
   * durable. Invalid → `invalid_argument` (`MESSAGING_INVALID_MESSAGE`, every
   * field in `details.violations`) and nothing is sent; too large →
   * `MESSAGING_MESSAGE_TOO_LARGE`.
   */
  publish(event: EventEnvelope, options?: PublishOptions): Promise<void>;
  /** Validates every event first (one bad event: nothing is sent), then publishes them, one transport batch per topic. */
  publishBatch(entries: readonly PublishEntry[]): Promise<void>;
  /** Consumes `topic` as a member of `options.group`. */
  subscribe<T = unknown>(
    topic: string,
    options: SubscribeOptions,
    handler: EventHandler<T>,
  ): Promise<Subscription>;
  /** Sends a command/job to a work queue (declared first, so nothing is dropped before a worker starts). */
  send(queue: string, event: EventEnvelope, options?: Omit<PublishOptions, 'topic'>): Promise<void>;
  /** Consumes a work queue: each message to one worker. */
  work<T = unknown>(queue: string, options: WorkOptions, handler: EventHandler<T>): Promise<Subscription>;
  /** The transport's dead-letter queues. */
  readonly deadLetters: DeadLetterStore;
  /** Counts per group. */
  stats(topic?: string): Promise<GroupStats[]>;
  onDeadLetter(listener: (event: DeadLetterEvent) => void): Disposer;
  onRetry(listener: (event: RetryEvent) => void): Disposer;
  /**
   * Graceful shutdown: stops fetching, waits for in-flight handlers (up to
   * `timeoutMs`, default 30 000) and their settlements, then closes the
   * transport if the bus opened it. Idempotent.
   */
  close(timeoutMs?: number): Promise<void>;
}

const CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
const TRACEPARENT = new RegExp(TRACEPARENT_PATTERN);
const DEFAULT_MAX_ATTEMPTS = 5;

function positive(field: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(Number.isInteger(v) && v >= 1))
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      `${field} must be an integer >= 1`,
      [{ field, message: 'must be an integer >= 1' }],
    );
  return v;
}

/**
 * Creates a bus: CloudEvents envelopes as JSON over a {@link Transport}, with
 * validation at both ends, the retry/DLQ policy of decision 007 and
 * OpenTelemetry producer/consumer spans.
 *
 * @example
 * ```ts
 * const bus = await createBus({ url: 'sqlite:./data/bus.db', source: 'order', registry });
 * await bus.subscribe('order.placed', { group: 'inventory' }, async (event) => reserve(event.data));
 * await bus.publish(bus.event({ type: 'order.placed', subject: order.id, data }), { orderingKey: order.id });
 * await bus.close();
 * ```
 */
export async function createBus(options: BusOptions): Promise<Bus> {
  if (typeof options?.source !== 'string' || options.source.length === 0)
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      'createBus: source is required',
      [{ field: 'source', message: 'a non-empty service name' }],
    );
  if ((options.transport === undefined) === (options.url === undefined))
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_URL,
      'createBus: give transport or url',
      [{ field: 'transport', message: 'exactly one of transport and url' }],
    );
  const owned = options.transport === undefined;
  const transport =
    options.transport ?? (await createTransport(options.url as string, options.transportOptions));
  const { registry, source } = options;
  const tracer = options.tracer ?? defaultTracer();
  const maxBytes = Math.min(options.maxMessageBytes ?? Infinity, transport.capabilities.maxMessageBytes);
  const subscriptions = new Set<Subscription>();
  const declaredQueues = new Set<string>();
  const deadLetterListeners = new Set<(e: DeadLetterEvent) => void>();
  const retryListeners = new Set<(e: RetryEvent) => void>();
  let closed = false;
  let closing: Promise<void> | undefined;

  const emit = <E>(listeners: Set<(e: E) => void>, event: E) => {
    for (const l of listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure must not change how the message is settled.
      }
    }
  };

  /** Validates and encodes one entry; nothing is sent yet. */
  const prepare = (
    entry: PublishEntry,
  ): { topic: string; message: OutgoingMessage; event: EventEnvelope } => {
    const checked = checkEnvelope(entry.event, registry);
    if (!checked.ok) throw invalidEvent(checked.violations, checked.reason);
    const topic = entry.topic ?? checked.event.type;
    assertName('topic', topic);
    return {
      topic,
      event: checked.event,
      message: {
        id: checked.event.id,
        body: new Uint8Array(0),
        headers: { ...entry.headers, 'content-type': CONTENT_TYPE },
        ...(entry.priority === undefined ? {} : { priority: entry.priority }),
        ...(entry.deliverAt === undefined ? {} : { deliverAt: entry.deliverAt }),
        ...(entry.orderingKey === undefined ? {} : { orderingKey: entry.orderingKey }),
      },
    };
  };

  const publishBatch = async (entries: readonly PublishEntry[]): Promise<void> => {
    if (closed) throw closedError('bus');
    if (!Array.isArray(entries))
      throw invalidEvent([{ field: 'entries', message: 'must be an array of { event, …options }' }]);
    const prepared = entries.map((e, i) => {
      try {
        return prepare(e);
      } catch (err) {
        if (entries.length === 1) throw err;
        throw invalidEvent(
          ((err as { violations?: readonly { field: string; message: string }[] }).violations ?? []).map(
            (v) => ({
              field: `entries.${i}.${v.field}`,
              message: v.message,
            }),
          ),
        );
      }
    });
    const byTopic = new Map<string, typeof prepared>();
    for (const p of prepared) {
      const list = byTopic.get(p.topic) ?? [];
      list.push(p);
      byTopic.set(p.topic, list);
    }
    for (const [topic, list] of byTopic) {
      const span = startPublishSpan(tracer, transport.kind, topic, {
        'messaging.batch.message_count': list.length,
        ...(list.length === 1 ? { 'messaging.message.id': (list[0] as (typeof list)[0]).event.id } : {}),
      });
      try {
        const messages = list.map(({ event, message }) => {
          const headers: Record<string, string> = { ...message.headers };
          injectHeaders(span, headers);
          const tp = headers.traceparent;
          // The envelope carries the producer's trace too (decision 007), unless the caller set one.
          const withTrace =
            event.traceparent === undefined && tp !== undefined && TRACEPARENT.test(tp)
              ? {
                  ...event,
                  traceparent: tp,
                  ...(headers.tracestate ? { tracestate: headers.tracestate.slice(0, 512) } : {}),
                }
              : event;
          const body = encodeEnvelope(withTrace);
          if (body.byteLength > maxBytes)
            throw messagingError(
              'invalid_argument',
              MessagingReasons.MESSAGE_TOO_LARGE,
              `event ${event.id} is ${body.byteLength} bytes, over the limit of ${maxBytes}`,
              [{ field: 'event', message: `${body.byteLength} bytes > ${maxBytes}` }],
            );
          return { ...message, headers, body };
        });
        if (list.length === 1)
          span.setAttribute('messaging.message.body.size', messages[0]?.body.byteLength ?? 0);
        await transport.publish(topic, messages);
        span.end();
      } catch (e) {
        endWithError(span, e, errorMessage(e));
        throw e;
      }
    }
  };

  const deadLetter = async (d: Delivery, reason: string, error: string) => {
    await d.deadLetter({ reason, error });
    emit(deadLetterListeners, {
      topic: d.topic,
      group: d.group,
      id: d.id,
      attempt: d.attempt,
      reason,
      error,
    });
  };

  const consume = async <T>(
    topic: string,
    group: string,
    options: WorkOptions,
    handler: EventHandler<T>,
  ): Promise<Subscription> => {
    if (closed) throw closedError('bus');
    if (typeof handler !== 'function')
      throw messagingError(
        'invalid_argument',
        MessagingReasons.INVALID_MESSAGE,
        'handler must be a function',
      );
    const maxAttempts = positive('maxAttempts', options.maxAttempts, DEFAULT_MAX_ATTEMPTS);
    const backoff = options.backoff ?? exponential({ baseMs: 1_000, maxMs: 60_000 });
    const onDelivery = async (d: Delivery): Promise<void> => {
      // A message that keeps killing its consumer (or outlived its attempts) never runs again.
      if (d.attempt > maxAttempts) {
        await deadLetter(
          d,
          MessagingReasons.MAX_ATTEMPTS,
          `delivered ${d.attempt} times (max ${maxAttempts}) without being settled`,
        );
        return;
      }
      const decoded = decodeEnvelope(d.body, registry);
      if (!decoded.ok) {
        const detail = decoded.violations.map((v) => `${v.field || '(body)'}: ${v.message}`).join('; ');
        await deadLetter(
          d,
          MessagingReasons.INVALID_MESSAGE,
          decoded.reason === MessagingReasons.INVALID_MESSAGE ? detail : `${decoded.reason}: ${detail}`,
        );
        return;
      }
      const event = decoded.event;
      const carrier =
        d.headers.traceparent !== undefined
          ? d.headers
          : {
              ...(event.traceparent ? { traceparent: event.traceparent } : {}),
              ...(event.tracestate ? { tracestate: event.tracestate } : {}),
            };
      const span = startProcessSpan(tracer, transport.kind, topic, group, carrier, {
        'messaging.message.id': event.id,
        'messaging.message.conversation_id': event.correlationid,
        'messaging.message.body.size': d.body.byteLength,
        'messaging.sluice.attempt': d.attempt,
        'cloudevents.event_type': event.type,
        'cloudevents.event_source': event.source,
      });
      const ctx: MessageContext = {
        topic,
        group,
        attempt: d.attempt,
        maxAttempts,
        headers: d.headers,
        priority: d.priority,
        orderingKey: d.orderingKey,
        publishedAt: d.publishedAt,
        extendLease: () => d.extendLease(),
      };
      try {
        await withSpan(span, () => handler(event as EventEnvelope<T>, ctx));
      } catch (e) {
        const decision = decideRetry(e, d.attempt, maxAttempts, backoff);
        const message = errorMessage(e);
        endWithError(span, e, message);
        if (decision.action === 'retry') {
          await d.retry(decision.delayMs);
          emit(retryListeners, {
            topic,
            group,
            id: d.id,
            attempt: d.attempt,
            delayMs: decision.delayMs,
            error: message,
          });
        } else await deadLetter(d, decision.failure.reason, decision.failure.error);
        return;
      }
      span.end();
      await d.ack();
    };
    const consumer = await transport.consume(topic, group, onDelivery, {
      ...(options.prefetch === undefined ? {} : { prefetch: options.prefetch }),
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    });
    const subscription: Subscription = {
      topic,
      group,
      stop: async (timeoutMs?: number) => {
        await consumer.stop(timeoutMs);
        subscriptions.delete(subscription);
      },
    };
    subscriptions.add(subscription);
    return subscription;
  };

  return {
    transport,
    source,
    event: (input) => createEnvelope({ ...input, source: input.source ?? source }),
    publish: (event, publishOptions = {}) => publishBatch([{ ...publishOptions, event }]),
    publishBatch,
    subscribe: async (topic, subscribeOptions, handler) => {
      assertName('group', subscribeOptions?.group);
      return consume(topic, subscribeOptions.group, subscribeOptions, handler);
    },
    async send(queue, event, sendOptions = {}) {
      if (closed) throw closedError('bus');
      assertName('queue', queue);
      if (!declaredQueues.has(queue)) {
        await transport.declareGroup(queue, WORK_QUEUE_GROUP);
        declaredQueues.add(queue);
      }
      await publishBatch([{ ...sendOptions, topic: queue, event }]);
    },
    work: async (queue, workOptions, handler) => {
      assertName('queue', queue);
      return consume(queue, WORK_QUEUE_GROUP, workOptions ?? {}, handler);
    },
    deadLetters: transport.deadLetters,
    stats: (topic) => transport.stats(topic),
    onDeadLetter(listener) {
      deadLetterListeners.add(listener);
      return () => {
        deadLetterListeners.delete(listener);
      };
    },
    onRetry(listener) {
      retryListeners.add(listener);
      return () => {
        retryListeners.delete(listener);
      };
    },
    close(timeoutMs?: number) {
      if (closing) return closing;
      closed = true;
      closing = (async () => {
        await Promise.allSettled([...subscriptions].map((s) => s.stop(timeoutMs)));
        if (owned) await transport.close();
      })();
      return closing;
    },
  };
}
