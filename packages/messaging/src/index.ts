/**
 * `@sluice/messaging`: events, work queues, outbox, inbox and dead letters on
 * SQLite (embedded), PostgreSQL, NATS JetStream and RabbitMQ.
 */

export type {
  Bus,
  BusOptions,
  DeadLetterEvent,
  EventHandler,
  MessageContext,
  PublishEntry,
  PublishOptions,
  RetryEvent,
  SubscribeOptions,
  Subscription,
  WorkOptions,
} from './bus/bus.js';
export { createBus } from './bus/bus.js';
export type { RetryDecision } from './bus/retry-decision.js';
export { decideRetry } from './bus/retry-decision.js';
export type { CreateTransportOptions, TransportKind } from './create-transport.js';
export { createTransport, parseEmbeddedUrl, transportKindOf } from './create-transport.js';
export {
  assertName,
  assertPublishable,
  closedError,
  messagingError,
  NAME_PATTERN,
} from './message-validation.js';
export type { NatsTransportOptions } from './nats/nats-options.js';
export type { PostgresTransportOptions } from './postgres/postgres-options.js';
// Types only: the RabbitMQ module (and amqplib) loads when createTransport('amqp://…') is called.
export type { RabbitMqTransport, RabbitMqTransportOptions } from './rabbitmq/rabbitmq-transport.js';
export type { MessagingReason } from './reasons.js';
export { MessagingReasons } from './reasons.js';
export type {
  ConsumeOptions,
  Consumer,
  DeadLetter,
  DeadLetterFailure,
  DeadLetterFilter,
  DeadLetterStore,
  Delivery,
  GroupStats,
  OutgoingMessage,
  Priority,
  Support,
  Transport,
  TransportCapabilities,
} from './transport.js';
export { WORK_QUEUE_GROUP } from './transport.js';
