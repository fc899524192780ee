import type { SagaEnvelope } from './event-sink.js';
import type { HistoryEntry, SagaErrorInfo, SagaRecord, SagaState, StepRecord } from './saga-record.js';

/** A saga to create. */
export interface NewSaga {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
  readonly correlationId: string;
  readonly causationId: string | undefined;
  readonly deadlineAt: number | undefined;
  readonly now: number;
  /** Claim it at once for this orchestrator (it drives the saga itself). */
  readonly leaseOwner: string | undefined;
  readonly leaseExpiresAt: number | undefined;
}

/** A saga an orchestrator holds the lease of, with its step log. */
export interface ClaimedSaga {
  readonly record: SagaRecord;
  readonly steps: readonly StepRecord[];
}

/**
 * One state change of a saga, committed atomically with its step row, its
 * history entries and its lifecycle events, and only if the writer still
 * holds the lease at the expected version (fencing).
 */
export interface Transition {
  readonly sagaId: string;
  readonly owner: string;
  /** The version the writer last saw; the commit sets `version + 1`. */
  readonly version: number;
  readonly state: SagaState;
  readonly stepIndex: number;
  readonly error: SagaErrorInfo | undefined;
  readonly now: number;
  /** Set `finished_at` and release the lease (final or parked states). */
  readonly finished: boolean;
  readonly step: StepRecord | undefined;
  readonly history: readonly HistoryEntry[];
  readonly events: readonly SagaEnvelope[];
}

/** The result of {@link SagaStore.commit}. */
export type CommitResult =
  | { readonly ok: true; readonly cancelRequested: boolean }
  /** The lease was lost (another orchestrator claimed the saga): nothing was written. */
  | { readonly ok: false };

/** Filter of {@link SagaStore.list}. */
export interface SagaFilter {
  readonly state?: SagaState | undefined;
  readonly name?: string | undefined;
  /** At most this many, newest first. Default 100. */
  readonly limit?: number | undefined;
}

/** An operator's change of a saga's state (retry or resolve), applied only from `from`. */
export interface OperatorChange {
  readonly sagaId: string;
  readonly from: SagaState;
  readonly to: SagaState;
  readonly now: number;
  readonly finished: boolean;
  readonly history: readonly HistoryEntry[];
  readonly events: readonly SagaEnvelope[];
}

/**
 * The saga log. Two implementations: {@link createSqliteSagaStore} and
 * {@link createPostgresSagaStore}; the same conformance tests run against both.
 */
export interface SagaStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Creates the tables if missing (idempotent). */
  migrate(): Promise<void>;
  /** Inserts a saga and its `saga.started` event, unless the id exists: then returns the existing one. */
  create(saga: NewSaga, events: readonly SagaEnvelope[]): Promise<{ created: boolean; record: SagaRecord }>;
  /** Takes the lease of up to `limit` active sagas named in `names` that have no live lease. */
  claim(
    owner: string,
    now: number,
    leaseExpiresAt: number,
    limit: number,
    names: readonly string[],
  ): Promise<ClaimedSaga[]>;
  /** Extends the leases `owner` holds on the active sagas `ids`; returns how many. */
  renew(owner: string, leaseExpiresAt: number, ids: readonly string[]): Promise<number>;
  /** Commits a transition if `owner` still holds the lease at `version`. */
  commit(transition: Transition): Promise<CommitResult>;
  /** Gives up `owner`'s leases (all, or those of `ids`), so another orchestrator may claim them at once. */
  release(owner: string, ids?: readonly string[]): Promise<void>;
  /** Appends entries (failed attempts) outside a transition. */
  appendHistory(entries: readonly HistoryEntry[]): Promise<void>;
  get(id: string): Promise<SagaRecord | undefined>;
  steps(id: string): Promise<StepRecord[]>;
  history(id: string): Promise<HistoryEntry[]>;
  list(filter: SagaFilter): Promise<SagaRecord[]>;
  /** Sets the cancellation flag of an active saga; returns the saga (undefined if unknown). */
  requestCancel(id: string, now: number): Promise<SagaRecord | undefined>;
  /** Applies an operator change; false when the saga was not in `from`. */
  operatorChange(change: OperatorChange): Promise<boolean>;
  /** Closes the connection or pool (when the store opened it). */
  close(): Promise<void>;
}
