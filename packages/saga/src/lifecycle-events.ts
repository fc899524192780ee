import { Type } from '@sinclair/typebox';
import { defineEvent, type EventDefinition, IdSchema } from '@sluice/contracts';

const ErrorInfoSchema = Type.Object({
  code: Type.String(),
  reason: Type.String(),
  message: Type.String(),
  step: Type.Optional(Type.String()),
});

const base = {
  /** The saga's id (also the envelope's `subject`). */
  sagaId: IdSchema,
  /** The saga definition's name. */
  saga: Type.String({ minLength: 1, maxLength: 64 }),
};

/** `saga.started`: a saga was accepted and persisted (emitted once per saga id). */
export const SagaStarted = defineEvent({
  type: 'saga.started',
  description: 'a saga was accepted and persisted',
  schema: Type.Object({ ...base, steps: Type.Array(Type.String()) }),
});

/** `saga.step_completed`: a step finished: `ok: false` for a non-critical step that failed (the saga goes on). */
export const SagaStepCompleted = defineEvent({
  type: 'saga.step_completed',
  description: 'a step was checkpointed (ok) or a non-critical step gave up (not ok)',
  schema: Type.Object({
    ...base,
    step: Type.String(),
    index: Type.Integer({ minimum: 0 }),
    ok: Type.Boolean(),
    attempts: Type.Integer({ minimum: 1 }),
    durationMs: Type.Number({ minimum: 0 }),
    error: Type.Optional(ErrorInfoSchema),
  }),
});

/** `saga.completed`: every critical step succeeded. */
export const SagaCompleted = defineEvent({
  type: 'saga.completed',
  description: 'every critical step of a saga succeeded',
  schema: Type.Object({ ...base, durationMs: Type.Number({ minimum: 0 }) }),
});

/** `saga.compensating`: a saga started undoing its completed steps (failure, cancellation, deadline, operator retry). */
export const SagaCompensating = defineEvent({
  type: 'saga.compensating',
  description: 'a saga started (or resumed) undoing its completed steps',
  schema: Type.Object({ ...base, reason: ErrorInfoSchema }),
});

/** `saga.failed`: compensation finished; every completed step was undone. */
export const SagaFailed = defineEvent({
  type: 'saga.failed',
  description: 'a saga was compensated completely',
  schema: Type.Object({ ...base, reason: ErrorInfoSchema, durationMs: Type.Number({ minimum: 0 }) }),
});

/** `saga.needs_attention`: a compensation kept failing; the saga is parked for an operator. */
export const SagaNeedsAttention = defineEvent({
  type: 'saga.needs_attention',
  description: 'a compensation kept failing and the saga was parked',
  schema: Type.Object({ ...base, step: Type.String(), reason: ErrorInfoSchema }),
});

/** Every saga lifecycle event definition (register them with `createEventRegistry`). */
export const sagaEvents: readonly EventDefinition[] = [
  SagaStarted,
  SagaStepCompleted,
  SagaCompleted,
  SagaCompensating,
  SagaFailed,
  SagaNeedsAttention,
];

/** The type of a saga lifecycle event. */
export type SagaEventType =
  | 'saga.started'
  | 'saga.step_completed'
  | 'saga.completed'
  | 'saga.compensating'
  | 'saga.failed'
  | 'saga.needs_attention';
