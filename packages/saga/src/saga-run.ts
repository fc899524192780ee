import { createEnvelope } from '@sluice/contracts';
import { SluiceError } from '@sluice/errors';
import {
  type Clock,
  Deadline,
  type ExecutionContext,
  type Outcome,
  type RetryPolicy,
  type TimeoutPolicy,
} from '@sluice/resilience';
import type { SagaDefinition, StepDefinition } from './define-saga.js';
import type { SagaEnvelope } from './event-sink.js';
import type { SagaEventType } from './lifecycle-events.js';
import { SagaReasons } from './reasons.js';
import {
  errorInfo,
  type HistoryEntry,
  isFinalState,
  type SagaErrorInfo,
  type SagaRecord,
  type SagaState,
  type StepRecord,
} from './saga-record.js';
import type { ClaimedSaga, SagaStore } from './saga-store.js';
import type { StepPolicies } from './step-policies.js';

/** What every run shares with its orchestrator. @internal */
export interface RunEnvironment {
  readonly store: SagaStore;
  readonly clock: Clock;
  readonly owner: string;
  readonly source: string;
  readonly newId: () => string;
  readonly policies: ReadonlyMap<string, readonly StepPolicies[]>;
  /** Called after each commit with the events it published. */
  emit(events: readonly SagaEnvelope[]): void;
  reportError(error: unknown, sagaId: string): void;
}

/** Thrown inside a run when its lease was lost: the run stops without writing. @internal */
export const LEASE_LOST = Symbol('lease-lost');

interface Patch {
  readonly state: SagaState;
  readonly stepIndex?: number;
  readonly error?: SagaErrorInfo | undefined;
  readonly step?: StepRecord;
  readonly history?: readonly HistoryEntry[];
  readonly events?: readonly SagaEnvelope[];
}

/** Parses a value through JSON, as the store will hand it back after a restart. @internal */
export function jsonRoundTrip(value: unknown, field: string): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch (cause) {
    text = undefined;
    void cause;
  }
  if (text === undefined) {
    throw new SluiceError({
      code: 'invalid_argument',
      reason: SagaReasons.OUTPUT_NOT_JSON,
      message: `${field} is not plain JSON`,
      retryable: false,
      details: { violations: [{ field, message: 'must be JSON-serialisable' }] },
    });
  }
  return JSON.parse(text);
}

/**
 * Drives one saga while this orchestrator holds its lease: every transition
 * is committed (fenced by the lease's version) before the next action.
 * @internal
 */
export class SagaRun {
  record: SagaRecord;
  readonly steps = new Map<string, StepRecord>();
  readonly results: Record<string, unknown> = {};
  /** Aborts in-flight steps when the orchestrator closes. */
  readonly abort = new AbortController();
  /** Rejects the attempt in flight, so a step that ignores its signal cannot hold `close()`. */
  private rejectInFlight: ((reason: unknown) => void) | undefined;
  private readonly policies: readonly StepPolicies[];

  constructor(
    private readonly env: RunEnvironment,
    readonly def: SagaDefinition,
    claimed: ClaimedSaga,
  ) {
    this.record = claimed.record;
    this.policies = env.policies.get(def.name) ?? [];
    for (const s of claimed.steps) {
      this.steps.set(s.step, s);
      this.results[s.step] = s.status === 'failed' ? undefined : s.output;
    }
  }

  get id(): string {
    return this.record.id;
  }

  /** Stops the run: aborts the step in flight and stops waiting for it (nothing more is written). */
  abandon(): void {
    this.abort.abort();
    this.rejectInFlight?.(this.abort.signal.reason);
  }

  /** Asks the run to compensate at its next boundary. */
  requestCancel(): void {
    this.record = { ...this.record, cancelRequested: true };
  }

  /** Runs until the saga is final or parked, the lease is lost, or the orchestrator closes. */
  async drive(): Promise<void> {
    for (;;) {
      if (this.abort.signal.aborted) return;
      const r = this.record;
      if (r.state === 'running') {
        const now = this.env.clock.now();
        if (r.cancelRequested) {
          await this.toCompensating({
            code: 'cancelled',
            reason: SagaReasons.CANCELLED,
            message: 'cancellation requested',
          });
        } else if (r.deadlineAt !== undefined && now >= r.deadlineAt) {
          await this.toCompensating({
            code: 'deadline_exceeded',
            reason: SagaReasons.DEADLINE_EXCEEDED,
            message: `saga deadline passed before step ${this.def.steps[r.stepIndex]?.name ?? 'completion'}`,
          });
        } else {
          const step = this.def.steps[r.stepIndex];
          if (step === undefined) await this.commit({ state: 'completed', events: [this.completedEvent()] });
          else await this.executeStep(step);
        }
      } else if (r.state === 'compensating') {
        await this.compensateNext();
      } else {
        return;
      }
    }
  }

  private event(type: SagaEventType, data: Record<string, unknown>): SagaEnvelope {
    const r = this.record;
    return createEnvelope({
      id: this.env.newId(),
      type,
      source: this.env.source,
      subject: r.id,
      time: new Date(this.env.clock.now()),
      correlationId: r.correlationId,
      ...(r.causationId === undefined ? {} : { causationId: r.causationId }),
      data: { sagaId: r.id, saga: r.name, ...data },
    });
  }

  private completedEvent(): SagaEnvelope {
    return this.event('saga.completed', { durationMs: this.env.clock.now() - this.record.createdAt });
  }

  private sagaHistory(event: string, error?: SagaErrorInfo): HistoryEntry {
    return {
      sagaId: this.record.id,
      step: undefined,
      phase: 'saga',
      event,
      attempt: undefined,
      at: this.env.clock.now(),
      durationMs: undefined,
      error,
      owner: this.env.owner,
    };
  }

  /** Commits a transition; on success applies it to the in-memory state and publishes its events locally. */
  private async commit(patch: Patch): Promise<void> {
    const r = this.record;
    const finished = isFinalState(patch.state) || patch.state === 'needs_attention';
    const now = this.env.clock.now();
    const error = 'error' in patch ? patch.error : r.error;
    const stepIndex = patch.stepIndex ?? r.stepIndex;
    const events = patch.events ?? [];
    const result = await this.env.store.commit({
      sagaId: r.id,
      owner: this.env.owner,
      version: r.version,
      state: patch.state,
      stepIndex,
      error,
      now,
      finished,
      step: patch.step,
      history: patch.history ?? [],
      events,
    });
    if (!result.ok) throw LEASE_LOST;
    this.record = {
      ...r,
      state: patch.state,
      stepIndex,
      error,
      version: r.version + 1,
      updatedAt: now,
      finishedAt: finished ? now : undefined,
      leaseOwner: finished ? undefined : r.leaseOwner,
      leaseExpiresAt: finished ? undefined : r.leaseExpiresAt,
      cancelRequested: r.cancelRequested || result.cancelRequested,
    };
    if (patch.step !== undefined) this.steps.set(patch.step.step, patch.step);
    if (events.length > 0) this.env.emit(events);
  }

  private toCompensating(error: SagaErrorInfo): Promise<void> {
    return this.commit({
      state: 'compensating',
      error,
      history: [this.sagaHistory('compensating', error)],
      events: [this.event('saga.compensating', { reason: error })],
    });
  }

  /**
   * Runs `work` under retry (outer) and timeout (inner), recording each
   * failed attempt in the history as it happens.
   */
  private async attempt<T>(
    retry: RetryPolicy,
    timeout: TimeoutPolicy,
    step: string,
    phase: 'execute' | 'compensate',
    work: (attempt: number, context: ExecutionContext) => T | Promise<T>,
  ): Promise<{ outcome: Outcome<T>; attempts: number }> {
    let attempts = 0;
    const deadlineAt = phase === 'execute' ? this.record.deadlineAt : undefined;
    const outcome = await retry.executeOutcome(
      async (ctx) => {
        attempts = ctx.attempt;
        const t0 = this.env.clock.now();
        try {
          if (this.abort.signal.aborted) throw this.abort.signal.reason;
          return await new Promise<T>((resolve, reject) => {
            this.rejectInFlight = reject;
            timeout
              .execute((tctx) => work(ctx.attempt, tctx), {
                signal: this.abort.signal,
                deadline: ctx.deadline,
              })
              .then(resolve, reject)
              .finally(() => {
                this.rejectInFlight = undefined;
              });
          });
        } catch (error) {
          if (!this.abort.signal.aborted) {
            const entry: HistoryEntry = {
              sagaId: this.record.id,
              step,
              phase,
              event: 'attempt_failed',
              attempt: ctx.attempt,
              at: t0,
              durationMs: this.env.clock.now() - t0,
              error: errorInfo(error, step),
              owner: this.env.owner,
            };
            await this.env.store.appendHistory([entry]).catch((e) => this.env.reportError(e, this.record.id));
          }
          throw error;
        }
      },
      {
        signal: this.abort.signal,
        ...(deadlineAt === undefined ? {} : { deadline: Deadline.at(deadlineAt, this.env.clock) }),
      },
    );
    return { outcome, attempts: Math.max(1, attempts) };
  }

  private async executeStep(step: StepDefinition): Promise<void> {
    const r = this.record;
    const policies = this.policies[step.index] as StepPolicies;
    const startedAt = this.env.clock.now();
    const key = `${r.id}:${step.name}`;
    const { outcome, attempts } = await this.attempt(
      policies.executeRetry,
      policies.executeTimeout,
      step.name,
      'execute',
      async (attempt, ctx) =>
        jsonRoundTrip(
          await step.options.execute({
            sagaId: r.id,
            step: step.name,
            idempotencyKey: key,
            input: r.input,
            results: this.results,
            attempt,
            // Read lazily: a step that never looks at its signal costs no AbortController.
            get signal() {
              return ctx.signal;
            },
          }),
          `steps.${step.name}.output`,
        ),
    );
    if (this.abort.signal.aborted) return;
    const endedAt = this.env.clock.now();
    const last = step.index === this.def.steps.length - 1;
    const base = {
      step: step.name,
      index: step.index,
      attempts,
      startedAt,
      endedAt,
      compensationAttempts: 0,
      compensatedAt: undefined,
    };
    const stepEvent = (ok: boolean, error?: SagaErrorInfo) =>
      this.event('saga.step_completed', {
        step: step.name,
        index: step.index,
        ok,
        attempts,
        durationMs: endedAt - startedAt,
        ...(error === undefined ? {} : { error }),
      });
    if (outcome.ok) {
      this.results[step.name] = outcome.value;
      await this.commit({
        state: last ? 'completed' : 'running',
        stepIndex: step.index + 1,
        step: { ...base, status: 'completed', output: outcome.value, error: undefined },
        events: last ? [stepEvent(true), this.completedEvent()] : [stepEvent(true)],
      });
      return;
    }
    const error = errorInfo(outcome.error, step.name);
    const failed: StepRecord = { ...base, status: 'failed', output: null, error };
    if (step.critical) {
      await this.commit({
        state: 'compensating',
        error,
        step: failed,
        history: [this.sagaHistory('compensating', error)],
        events: [this.event('saga.compensating', { reason: error })],
      });
      return;
    }
    this.results[step.name] = undefined;
    await this.commit({
      state: last ? 'completed' : 'running',
      stepIndex: step.index + 1,
      step: failed,
      events: last ? [stepEvent(false, error), this.completedEvent()] : [stepEvent(false, error)],
    });
  }

  private async compensateNext(): Promise<void> {
    const r = this.record;
    // Newest completion first: steps run one after another, so that is descending index.
    const todo = this.def.steps
      .filter((s) => s.options.compensate !== undefined && this.steps.get(s.name)?.status === 'completed')
      .reverse();
    const reason: SagaErrorInfo = r.error ?? {
      code: 'unknown',
      reason: SagaReasons.STEP_FAILED,
      message: 'compensating',
    };
    const failedEvent = () =>
      this.event('saga.failed', { reason, durationMs: this.env.clock.now() - this.record.createdAt });
    const step = todo[0];
    if (step === undefined) {
      await this.commit({
        state: 'failed',
        history: [this.sagaHistory('failed', reason)],
        events: [failedEvent()],
      });
      return;
    }
    const policies = this.policies[step.index] as StepPolicies;
    const record = this.steps.get(step.name) as StepRecord;
    const t0 = this.env.clock.now();
    const { outcome, attempts } = await this.attempt(
      policies.compensateRetry,
      policies.compensateTimeout,
      step.name,
      'compensate',
      (attempt, ctx) =>
        step.options.compensate?.({
          sagaId: r.id,
          step: step.name,
          idempotencyKey: `${r.id}:${step.name}`,
          compensationKey: `${r.id}:${step.name}:compensate`,
          input: r.input,
          results: this.results,
          output: record.output,
          reason,
          attempt,
          get signal() {
            return ctx.signal;
          },
        }),
    );
    if (this.abort.signal.aborted) return;
    const now = this.env.clock.now();
    if (outcome.ok) {
      const lastOne = todo.length === 1;
      const done: HistoryEntry = {
        sagaId: r.id,
        step: step.name,
        phase: 'compensate',
        event: 'compensated',
        attempt: attempts,
        at: now,
        durationMs: now - t0,
        error: undefined,
        owner: this.env.owner,
      };
      await this.commit({
        state: lastOne ? 'failed' : 'compensating',
        step: { ...record, status: 'compensated', compensationAttempts: attempts, compensatedAt: now },
        history: lastOne ? [done, this.sagaHistory('failed', reason)] : [done],
        events: lastOne ? [failedEvent()] : [],
      });
      return;
    }
    const cause = errorInfo(outcome.error, step.name);
    const parked: SagaErrorInfo = {
      code: 'internal',
      reason: SagaReasons.COMPENSATION_FAILED,
      message: `compensation of step ${step.name} failed after ${attempts} attempt(s): ${cause.reason}: ${cause.message}`,
      step: step.name,
    };
    await this.commit({
      state: 'needs_attention',
      error: parked,
      step: { ...record, compensationAttempts: attempts, error: cause },
      history: [this.sagaHistory('parked', parked)],
      events: [this.event('saga.needs_attention', { step: step.name, reason: parked })],
    });
  }
}
