import type {
  HistoryEntry,
  SagaErrorInfo,
  SagaRecord,
  SagaState,
  StepRecord,
  StepStatus,
} from './saga-record.js';

/** Reads a nullable integer column (PostgreSQL returns BIGINT as a string). @internal */
export function num(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

/** Reads a JSON text column. @internal */
export function json(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? JSON.parse(value) : value;
}

/** Writes an optional error as JSON text. @internal */
export function errorText(error: SagaErrorInfo | undefined): string | null {
  return error === undefined ? null : JSON.stringify(error);
}

function errorOf(value: unknown): SagaErrorInfo | undefined {
  const v = json(value);
  return v === null ? undefined : (v as SagaErrorInfo);
}

/** A `sluice_sagas` row as a {@link SagaRecord}. @internal */
export function sagaFromRow(row: Record<string, unknown>): SagaRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    state: row.state as SagaState,
    input: json(row.input),
    stepIndex: Number(row.step_index),
    error: errorOf(row.error),
    cancelRequested: Number(row.cancel_requested) === 1,
    deadlineAt: num(row.deadline_at),
    correlationId: row.correlation_id as string,
    causationId: (row.causation_id as string | null) ?? undefined,
    leaseOwner: (row.lease_owner as string | null) ?? undefined,
    leaseExpiresAt: num(row.lease_expires_at),
    version: Number(row.version),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    finishedAt: num(row.finished_at),
  };
}

/** A `sluice_saga_steps` row as a {@link StepRecord}. @internal */
export function stepFromRow(row: Record<string, unknown>): StepRecord {
  return {
    step: row.step as string,
    index: Number(row.idx),
    status: row.status as StepStatus,
    output: json(row.output),
    attempts: Number(row.attempts),
    startedAt: Number(row.started_at),
    endedAt: Number(row.ended_at),
    error: errorOf(row.error),
    compensationAttempts: Number(row.compensation_attempts),
    compensatedAt: num(row.compensated_at),
  };
}

/** A `sluice_saga_history` row as a {@link HistoryEntry}. @internal */
export function historyFromRow(row: Record<string, unknown>): HistoryEntry {
  return {
    seq: Number(row.seq),
    sagaId: row.saga_id as string,
    step: (row.step as string | null) ?? undefined,
    phase: row.phase as HistoryEntry['phase'],
    event: row.event as string,
    attempt: num(row.attempt),
    at: Number(row.at),
    durationMs: num(row.duration_ms),
    error: errorOf(row.error),
    owner: (row.owner as string | null) ?? undefined,
    note: (row.note as string | null) ?? undefined,
  };
}

/** The columns of a step row, in insert order. @internal */
export function stepValues(sagaId: string, s: StepRecord): unknown[] {
  return [
    sagaId,
    s.step,
    s.index,
    s.status,
    s.output === undefined ? null : JSON.stringify(s.output),
    s.attempts,
    s.startedAt,
    s.endedAt,
    errorText(s.error),
    s.compensationAttempts,
    s.compensatedAt ?? null,
  ];
}

/** The columns of a history row, in insert order. @internal */
export function historyValues(h: HistoryEntry): unknown[] {
  return [
    h.sagaId,
    h.step ?? null,
    h.phase,
    h.event,
    h.attempt ?? null,
    h.at,
    h.durationMs ?? null,
    errorText(h.error),
    h.owner ?? null,
    h.note ?? null,
  ];
}
