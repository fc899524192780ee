import { isSluiceError } from '@sluice/errors';
import { SagaReasons } from './reasons.js';

/**
 * Where a saga stands.
 *
 * - `running`: steps are being executed, in order.
 * - `compensating`: a critical step failed (or the saga was cancelled or ran
 *   out of time): completed steps are being undone, newest first.
 * - `completed`: every critical step succeeded. Final.
 * - `failed`: compensation finished; every completed step was undone. Final.
 * - `needs_attention`: a compensation kept failing; parked for an operator,
 *   who may `retry()` it (back to `compensating`) or `resolve()` it.
 * - `resolved`: an operator marked a parked saga as dealt with. Final.
 */
export type SagaState = 'running' | 'compensating' | 'completed' | 'failed' | 'needs_attention' | 'resolved';

/** States an orchestrator drives (and claims on recovery). */
export const ACTIVE_STATES: readonly SagaState[] = ['running', 'compensating'];

/** True for `completed`, `failed` and `resolved`. */
export function isFinalState(state: SagaState): boolean {
  return state === 'completed' || state === 'failed' || state === 'resolved';
}

/**
 * A step's status in the saga log.
 * - `completed`: executed and checkpointed (its output is stored; it never runs again).
 * - `failed`: gave up after its attempts (a non-critical step's failure, or the critical failure that started compensation).
 * - `compensated`: completed, then undone.
 */
export type StepStatus = 'completed' | 'failed' | 'compensated';

/** An error as stored in the saga log: plain JSON, matchable by `code` and `reason`. */
export interface SagaErrorInfo {
  readonly code: string;
  readonly reason: string;
  readonly message: string;
  /** The step it came from, when a step raised it. */
  readonly step?: string;
}

/** One saga as the store holds it. Times are Unix epoch milliseconds. */
export interface SagaRecord {
  readonly id: string;
  /** The saga definition's name. */
  readonly name: string;
  readonly state: SagaState;
  readonly input: unknown;
  /** Index of the next step to execute. */
  readonly stepIndex: number;
  /** Why the saga compensated, failed or was parked. */
  readonly error: SagaErrorInfo | undefined;
  readonly cancelRequested: boolean;
  readonly deadlineAt: number | undefined;
  readonly correlationId: string;
  readonly causationId: string | undefined;
  /** The orchestrator holding the lease, if any. */
  readonly leaseOwner: string | undefined;
  readonly leaseExpiresAt: number | undefined;
  /** Incremented by every transition and claim: the fencing token of the lease holder. */
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | undefined;
}

/** One step's row in the saga log. */
export interface StepRecord {
  readonly step: string;
  readonly index: number;
  readonly status: StepStatus;
  /** The checkpointed output (`null` when the step returned nothing or failed). */
  readonly output: unknown;
  /** Execution attempts made in the run that reached this status. */
  readonly attempts: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly error: SagaErrorInfo | undefined;
  /** Compensation attempts made (0 until compensation runs). */
  readonly compensationAttempts: number;
  readonly compensatedAt: number | undefined;
}

/** One entry of a saga's history: a transition, or a failed attempt. */
export interface HistoryEntry {
  /** Order within the store (ascending). */
  readonly seq?: number;
  readonly sagaId: string;
  readonly step: string | undefined;
  /** `saga` (a state change), `execute` or `compensate` (a step's attempt). */
  readonly phase: 'saga' | 'execute' | 'compensate';
  /** e.g. `started`, `attempt_failed`, `completed`, `compensated`, `parked`, `retried`, `resolved`. */
  readonly event: string;
  readonly attempt: number | undefined;
  /** When it happened (epoch ms). */
  readonly at: number;
  /** How long the attempt or step took, in ms. */
  readonly durationMs: number | undefined;
  readonly error: SagaErrorInfo | undefined;
  /** The orchestrator that recorded it, or `operator`. */
  readonly owner: string | undefined;
  /** Free text (an operator's note). */
  readonly note?: string | undefined;
}

/** Turns anything thrown into a storable {@link SagaErrorInfo}. */
export function errorInfo(error: unknown, step?: string): SagaErrorInfo {
  const withStep = step === undefined ? {} : { step };
  if (isSluiceError(error)) {
    return { code: error.code, reason: error.reason, message: error.message, ...withStep };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'unknown', reason: SagaReasons.STEP_FAILED, message: message.slice(0, 2000), ...withStep };
}
