/**
 * `@sluice/saga`: durable orchestration with first-class compensation, on
 * SQLite or PostgreSQL, and choreography helpers that keep the causation
 * chain and rebuild it.
 *
 * @example
 * ```ts
 * const orderSaga = defineSaga({
 *   name: 'order',
 *   steps: sagaSteps<{ orderId: string }>()
 *     .step('reserve', { execute: ({ input, idempotencyKey }) => reserve(input.orderId, idempotencyKey),
 *                        compensate: ({ output }) => release(output.reservationId) })
 *     .step('charge', { execute: ({ results }) => charge(results.reserve.reservationId) }),
 * });
 * const store = createSqliteSagaStore({ path: 'data/orchestrator.db' });
 * await store.migrate();
 * const orchestrator = createOrchestrator({ store, sagas: [orderSaga] });
 * orchestrator.run();
 * await orchestrator.start(orderSaga, { orderId: 'o-1' }, { sagaId: 'order-o-1' });
 * ```
 */

// Choreography
export type { FollowUpInput } from './choreography/follow-up.js';
export { followUp } from './choreography/follow-up.js';
export type {
  ChoreographyInbox,
  ChoreographyOutbox,
  FlowEventSource,
  FlowRecord,
} from './choreography/ports.js';
export type {
  Reaction,
  ReactionContext,
  ReactionHandler,
  ReactionOutcome,
  ReactOptions,
} from './choreography/react.js';
export { react } from './choreography/react.js';
export type { FlowStep, FlowTrace, TraceFlowOptions } from './choreography/trace-flow.js';
export { traceFlow } from './choreography/trace-flow.js';
// Definitions
export type {
  CompensationContext,
  SagaDefinition,
  SagaOptions,
  SagaSteps,
  StepContext,
  StepDefinition,
  StepOptions,
  StepRetryOptions,
} from './define-saga.js';
export { defineSaga, SAGA_NAME_PATTERN, STEP_NAME_PATTERN, sagaSteps } from './define-saga.js';
// Events
export type { OutboxTableSinkOptions, SagaEnvelope, SagaEventSink, SagaTransaction } from './event-sink.js';
export { outboxTableSink, SAGA_OUTBOX_TABLE } from './event-sink.js';
export type { SagaEventType } from './lifecycle-events.js';
export {
  SagaCompensating,
  SagaCompleted,
  SagaFailed,
  SagaNeedsAttention,
  SagaStarted,
  SagaStepCompleted,
  sagaEvents,
} from './lifecycle-events.js';
// Orchestration
export type {
  Orchestrator,
  OrchestratorOptions,
  SagaDetails,
  StartOptions,
  StartResult,
} from './orchestrator.js';
export { createOrchestrator } from './orchestrator.js';
// Stores
export type { PostgresSagaStoreOptions } from './postgres-saga-store.js';
export { createPostgresSagaStore } from './postgres-saga-store.js';
export type { SagaReason } from './reasons.js';
export { SagaReasons } from './reasons.js';
export type {
  HistoryEntry,
  SagaErrorInfo,
  SagaRecord,
  SagaState,
  StepRecord,
  StepStatus,
} from './saga-record.js';
export { isFinalState } from './saga-record.js';
export type {
  ClaimedSaga,
  CommitResult,
  NewSaga,
  OperatorChange,
  SagaFilter,
  SagaStore,
  Transition,
} from './saga-store.js';
export type { SqliteSagaStoreOptions } from './sqlite-saga-store.js';
export { createSqliteSagaStore } from './sqlite-saga-store.js';
export { wallClock } from './wall-clock.js';
