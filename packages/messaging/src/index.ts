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
export type { PgInbox, PgInboxHandler, PgInboxOptions } from './inbox/pg-inbox.js';
export { createPgInbox } from './inbox/pg-inbox.js';
export type { SqliteInbox, SqliteInboxHandler, SqliteInboxOptions } from './inbox/sqlite-inbox.js';
export { createSqliteInbox } from './inbox/sqlite-inbox.js';
export {
  assertName,
  assertPublishable,
  closedError,
  messagingError,
  NAME_PATTERN,
} from './message-validation.js';
export type { NatsTransportOptions } from './nats/nats-options.js';
export type { OutboxEntry, OutboxInput, OutboxValidationOptions } from './outbox/outbox-entry.js';
export type {
  FlushResult,
  OutboxErrorEvent,
  OutboxPublishedEvent,
  OutboxRelay,
  OutboxRelayOptions,
} from './outbox/outbox-relay.js';
export { createOutboxRelay } from './outbox/outbox-relay.js';
export type {
  OutboxSagaSink,
  OutboxSagaSinkOptions,
  OutboxSagaTransaction,
} from './outbox/outbox-saga-sink.js';
export { outboxSagaSink } from './outbox/outbox-saga-sink.js';
export type { PgOutbox, PgOutboxOptions } from './outbox/pg-outbox.js';
export { createPgOutbox } from './outbox/pg-outbox.js';
export type { SqliteOutbox, SqliteOutboxOptions } from './outbox/sqlite-outbox.js';
export { createSqliteOutbox } from './outbox/sqlite-outbox.js';
export type { PostgresTransportOptions } from './postgres/postgres-options.js';
// Types only: the RabbitMQ module (and amqplib) loads when createTransport('amqp://…') is called.
export type { RabbitMqTransport, RabbitMqTransportOptions } from './rabbitmq/rabbitmq-transport.js';
export type { MessagingReason } from './reasons.js';
export { MessagingReasons } from './reasons.js';
export { SQL_NAME_PATTERN } from './sql-name.js';
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
