import {
  type Attributes,
  type Context,
  context,
  type Link,
  type Span,
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { invalidOption } from './invalid-options.js';
import { endSpan } from './span-outcome.js';
import { extractTraceContext, injectTraceContext, type TraceCarrier } from './trace-propagation.js';

/** Messaging attribute names of the OpenTelemetry semantic conventions (v1.26+ messaging spans). */
export const MessagingAttributes = {
  SYSTEM: 'messaging.system',
  DESTINATION_NAME: 'messaging.destination.name',
  OPERATION_TYPE: 'messaging.operation.type',
  OPERATION_NAME: 'messaging.operation.name',
  MESSAGE_ID: 'messaging.message.id',
  CONVERSATION_ID: 'messaging.message.conversation_id',
  CONSUMER_GROUP: 'messaging.consumer.group.name',
  BATCH_COUNT: 'messaging.batch.message_count',
} as const;

/** The name of the tracer the messaging helpers use unless given one. */
export const MESSAGING_TRACER_NAME = '@sluice/observability/messaging';

/** What a messaging span describes, shared by producer and consumer spans. */
export interface MessagingSpanOptions {
  /**
   * `messaging.system`: the transport, e.g. `rabbitmq`, `nats`, `postgresql`,
   * `sqlite` (the embedded log). Required, non-empty.
   */
  readonly system: string;
  /** `messaging.destination.name`: the topic, queue or subject. Required, non-empty. */
  readonly destination: string;
  /** `messaging.message.id`: the message (event) id, when known. */
  readonly messageId?: string;
  /** `messaging.message.conversation_id`: the correlation id, when there is one. */
  readonly conversationId?: string;
  /** Extra span attributes. */
  readonly attributes?: Attributes;
  /** Default `trace.getTracer('@sluice/observability/messaging')` of the global provider. */
  readonly tracer?: Tracer;
}

/** Options of {@link startProducerSpan}. */
export interface ProducerSpanOptions extends MessagingSpanOptions {
  /**
   * `messaging.operation.type`: `publish` (default) or `send` for the call
   * that hands the message to the broker, `create` for a span that only
   * creates a message which is sent later in a batch (the outbox).
   */
  readonly operation?: 'publish' | 'send' | 'create';
  /** The parent. Default: the active context. */
  readonly context?: Context;
}

/** What {@link startProducerSpan} returns. */
export interface ProducerSpan {
  /** The `PRODUCER` span; end it (e.g. with `endSpan`) when the broker accepted the message. */
  readonly span: Span;
  /** The parent context with this span set: run the publish call inside it. */
  readonly context: Context;
  /**
   * The trace headers to store with the message: `traceparent`, and
   * `tracestate` / `baggage` when present. Empty when tracing is off.
   */
  readonly headers: Record<string, string>;
}

/** Options of {@link startConsumerSpan}. */
export interface ConsumerSpanOptions extends MessagingSpanOptions {
  /** The message's headers (or CloudEvents envelope) carrying `traceparent`. */
  readonly headers?: TraceCarrier;
  /** `messaging.operation.type`: `process` (default, a handler runs) or `receive` (a pull). */
  readonly operation?: 'process' | 'receive';
  /** `messaging.consumer.group.name`: the subscriber group or durable consumer. */
  readonly consumerGroup?: string;
  /**
   * How the span relates to the producer's: `'child'` (default) parents it
   * on the message's creation context, so one trace runs from the request
   * that published to the handler; `'link'` starts it under the active
   * context (a new trace when none) and only links to the creation context,
   * for batch handlers or messages processed long after they were sent.
   * The span links to the creation context in both modes, as the messaging
   * conventions require.
   */
  readonly parenting?: 'child' | 'link';
  /** The context to parent on in `'link'` mode (and to extract onto). Default: the active context. */
  readonly context?: Context;
}

/** What {@link startConsumerSpan} returns. */
export interface ConsumerSpan {
  /** The `CONSUMER` span; end it when the handler settled the message. */
  readonly span: Span;
  /** A context with this span set: run the handler inside it (`context.with`). */
  readonly context: Context;
}

function baseAttributes(where: string, options: MessagingSpanOptions, operationType: string): Attributes {
  if (typeof options.system !== 'string' || options.system === '')
    throw invalidOption(where, 'system', 'must be a non-empty string');
  if (typeof options.destination !== 'string' || options.destination === '')
    throw invalidOption(where, 'destination', 'must be a non-empty string');
  const attributes: Attributes = {
    [MessagingAttributes.SYSTEM]: options.system,
    [MessagingAttributes.DESTINATION_NAME]: options.destination,
    [MessagingAttributes.OPERATION_TYPE]: operationType,
    [MessagingAttributes.OPERATION_NAME]: operationType,
  };
  if (options.messageId !== undefined) attributes[MessagingAttributes.MESSAGE_ID] = options.messageId;
  if (options.conversationId !== undefined)
    attributes[MessagingAttributes.CONVERSATION_ID] = options.conversationId;
  return options.attributes ? { ...attributes, ...options.attributes } : attributes;
}

/**
 * Starts the `PRODUCER` span of a message, named `<operation> <destination>`
 * (`publish orders`), with the messaging semantic-convention attributes,
 * and returns the trace headers to store with the message. Uses only
 * `@opentelemetry/api`.
 *
 * @throws SluiceError `invalid_argument` / `OBSERVABILITY_INVALID_OPTION` for an empty `system` or `destination`.
 * @example
 * ```ts
 * const { span, headers } = startProducerSpan({ system: 'rabbitmq', destination: 'orders', messageId: event.id });
 * try {
 *   await channel.publish('orders', '', body, { headers });
 *   endSpan(span);
 * } catch (error) {
 *   endSpan(span, error);
 *   throw error;
 * }
 * ```
 */
export function startProducerSpan(options: ProducerSpanOptions): ProducerSpan {
  const operation = options.operation ?? 'publish';
  const attributes = baseAttributes('startProducerSpan', options, operation);
  const parent = options.context ?? context.active();
  const tracer = options.tracer ?? trace.getTracer(MESSAGING_TRACER_NAME);
  const span = tracer.startSpan(
    `${operation} ${options.destination}`,
    { kind: SpanKind.PRODUCER, attributes },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  const headers = injectTraceContext({} as Record<string, string>, { context: ctx });
  return { span, context: ctx, headers };
}

/**
 * Starts the `CONSUMER` span of a message, named `<operation> <destination>`
 * (`process orders`), from the `traceparent` in its headers: a child of the
 * producer's span (default) or linked to it (`parenting: 'link'`). A
 * message without (or with a malformed) `traceparent` gets a span under the
 * active context, with no link. Uses only `@opentelemetry/api`.
 *
 * @throws SluiceError `invalid_argument` / `OBSERVABILITY_INVALID_OPTION` for an empty `system` or `destination`.
 */
export function startConsumerSpan(options: ConsumerSpanOptions): ConsumerSpan {
  const operation = options.operation ?? 'process';
  const attributes = baseAttributes('startConsumerSpan', options, operation);
  if (options.consumerGroup !== undefined)
    attributes[MessagingAttributes.CONSUMER_GROUP] = options.consumerGroup;
  const base = options.context ?? context.active();
  const created = options.headers ? extractTraceContext(options.headers, { context: base }) : base;
  // extract() wraps a found traceparent in a new span object; the base's own span means none was found.
  const creationSpan = trace.getSpan(created);
  const creation =
    creationSpan &&
    creationSpan !== trace.getSpan(base) &&
    trace.isSpanContextValid(creationSpan.spanContext())
      ? creationSpan.spanContext()
      : undefined;
  const links: Link[] = creation ? [{ context: creation }] : [];
  const parenting = options.parenting ?? 'child';
  const parent = creation && parenting === 'child' ? created : base;
  const tracer = options.tracer ?? trace.getTracer(MESSAGING_TRACER_NAME);
  const span = tracer.startSpan(
    `${operation} ${options.destination}`,
    { kind: SpanKind.CONSUMER, attributes, links },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * Runs `publish` inside a producer span (see {@link startProducerSpan}),
 * giving it the trace headers to store with the message; ends the span with
 * the outcome and returns (or rethrows) `publish`'s.
 *
 * @example
 * ```ts
 * await withProducerSpan({ system: 'nats', destination: 'orders.placed', messageId: id }, (headers) =>
 *   js.publish('orders.placed', payload, { headers: toNatsHeaders(headers) }),
 * );
 * ```
 */
export async function withProducerSpan<T>(
  options: ProducerSpanOptions,
  publish: (headers: Record<string, string>, span: Span) => Promise<T> | T,
): Promise<T> {
  const { span, context: ctx, headers } = startProducerSpan(options);
  try {
    const result = await context.with(ctx, () => publish(headers, span));
    endSpan(span);
    return result;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

/**
 * Runs `handle` inside a consumer span (see {@link startConsumerSpan}), so
 * logs and outgoing calls of the handler carry the message's trace; ends
 * the span with the outcome and returns (or rethrows) `handle`'s.
 */
export async function withConsumerSpan<T>(
  options: ConsumerSpanOptions,
  handle: (span: Span) => Promise<T> | T,
): Promise<T> {
  const { span, context: ctx } = startConsumerSpan(options);
  try {
    const result = await context.with(ctx, () => handle(span));
    endSpan(span);
    return result;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}
