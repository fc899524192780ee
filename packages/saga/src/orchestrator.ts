import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { createEnvelope } from '@sluice/contracts';
import { SluiceError } from '@sluice/errors';
import type { Clock, Disposer, Listener, TimerHandle } from '@sluice/resilience';
import type { SagaDefinition } from './define-saga.js';
import type { SagaEnvelope } from './event-sink.js';
import { SagaReasons } from './reasons.js';
import {
  ACTIVE_STATES,
  type HistoryEntry,
  isFinalState,
  type SagaRecord,
  type SagaState,
  type StepRecord,
} from './saga-record.js';
import { jsonRoundTrip, LEASE_LOST, type RunEnvironment, SagaRun } from './saga-run.js';
import type { ClaimedSaga, SagaFilter, SagaStore } from './saga-store.js';
import { type StepPolicies, stepPolicies } from './step-policies.js';
import { wallClock } from './wall-clock.js';

/** Options of {@link createOrchestrator}. */
export interface OrchestratorOptions {
  /** The saga log (SQLite or PostgreSQL); `migrate()` it first. */
  readonly store: SagaStore;
  /** The sagas this orchestrator can start and drive (recovery claims only these names). */
  readonly sagas: readonly SagaDefinition<unknown, unknown>[];
  /** This orchestrator's identity in leases and history. Default `<hostname>:<pid>:<random>`. */
  readonly owner?: string;
  /** How long a claim lasts without a heartbeat, in ms. Default 10 000. */
  readonly leaseMs?: number;
  /** How often the leases are renewed, in ms. Default `leaseMs / 3`. */
  readonly heartbeatMs?: number;
  /** How often unclaimed or abandoned sagas are looked for, in ms. Default 1 000. */
  readonly pollMs?: number;
  /** Sagas driven at once by this process. Default 100. */
  readonly maxConcurrent?: number;
  /**
   * Time and timers; `now()` must be Unix epoch ms (leases and deadlines are
   * shared with other processes). Default {@link wallClock}. Tests pass
   * `createVirtualClock({ start: Date.now() })`.
   */
  readonly clock?: Clock;
  /** CloudEvents `source` of lifecycle events. Default `sluice-saga`. */
  readonly source?: string;
  /** Event id generator. Default `crypto.randomUUID`. */
  readonly newId?: () => string;
}

/** Options of {@link Orchestrator.start}. */
export interface StartOptions {
  /** The saga's id: starting the same id twice starts one saga. Same rules as an event id. */
  readonly sagaId: string;
  /** Deadline from now, in ms (overrides the definition's `deadlineMs`). */
  readonly deadlineMs?: number;
  /** Correlation id of the lifecycle events. Default: the saga id. */
  readonly correlationId?: string;
  /** The event or command that caused the saga (causation id of its lifecycle events). */
  readonly causationId?: string;
}

/** What {@link Orchestrator.start} returns. */
export interface StartResult {
  readonly sagaId: string;
  /** False when a saga with this id already existed (nothing new was started). */
  readonly created: boolean;
  readonly state: SagaState;
}

/** A saga with its step log and full history, for operators. */
export interface SagaDetails {
  readonly saga: SagaRecord;
  readonly steps: readonly StepRecord[];
  readonly history: readonly HistoryEntry[];
}

/** Runs sagas durably; see {@link createOrchestrator}. */
export interface Orchestrator {
  /** This orchestrator's lease owner id. */
  readonly owner: string;
  /** Sagas this process is driving now. */
  readonly driving: number;
  /**
   * Persists a new saga (with its `saga.started` event) and, when the
   * orchestrator runs, drives it at once; otherwise a running orchestrator
   * claims it. Idempotent on `sagaId`.
   * @throws SluiceError `invalid_argument` (bad id, input not JSON, unknown saga); `already_exists` when the id belongs to a saga of another name.
   */
  start<I>(saga: SagaDefinition<I, unknown>, input: I, options: StartOptions): Promise<StartResult>;
  /**
   * Resolves when the saga is final (`completed`, `failed`, `resolved`) or parked (`needs_attention`).
   * @throws SluiceError `not_found`; `deadline_exceeded` (`SAGA_WAIT_TIMEOUT`) after `timeoutMs` (default 30 000).
   */
  wait(sagaId: string, options?: { readonly timeoutMs?: number }): Promise<SagaRecord>;
  /** Starts recovery: heartbeats, and claiming unfinished sagas whose lease is free or expired. */
  run(): void;
  /**
   * Stops driving: aborts in-flight steps (nothing more is written for
   * them) and releases this orchestrator's leases so others take over at
   * once. `releaseLeases: false` leaves them to expire, as a crash would.
   */
  close(options?: { readonly releaseLeases?: boolean }): Promise<void>;
  /**
   * Requests cancellation: the saga compensates at its next step boundary.
   * A no-op for a saga already compensating.
   * @throws SluiceError `not_found`; `failed_precondition` when it is final or parked.
   */
  cancel(sagaId: string): Promise<SagaRecord>;
  /** Sagas, newest first, filtered by state and name. */
  list(filter?: SagaFilter): Promise<SagaRecord[]>;
  /** A saga with every step (status, attempts, timings, errors) and its history. @throws SluiceError `not_found`. */
  inspect(sagaId: string): Promise<SagaDetails>;
  /** Puts a parked saga back to compensating (its compensations run again). @throws `not_found`, `failed_precondition`. */
  retry(sagaId: string, note?: string): Promise<void>;
  /** Marks a parked saga as dealt with by hand (`resolved`, final). @throws `not_found`, `failed_precondition`. */
  resolve(sagaId: string, note: string): Promise<void>;
  /** Lifecycle events, after their transaction committed, from sagas this process drives. */
  onEvent(listener: Listener<SagaEnvelope>): Disposer;
  /** Unexpected errors (a store failure while driving): the saga's lease expires and it is retried. */
  onError(listener: Listener<{ readonly sagaId: string | undefined; readonly error: unknown }>): Disposer;
}

const ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

function invalid(message: string, field: string, reason: string = SagaReasons.INVALID_ARGUMENT): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason,
    message,
    details: { violations: [{ field, message }] },
  });
}

function notFound(sagaId: string): SluiceError {
  return new SluiceError({ code: 'not_found', reason: SagaReasons.NOT_FOUND, message: `no saga ${sagaId}` });
}

function invalidState(sagaId: string, state: SagaState, action: string): SluiceError {
  return new SluiceError({
    code: 'failed_precondition',
    reason: SagaReasons.INVALID_STATE,
    message: `cannot ${action} saga ${sagaId}: it is ${state}`,
    details: { metadata: { state } },
  });
}

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0)) throw invalid(`${field} must be a positive number`, field);
  return value;
}

class Emitter<T> {
  private readonly listeners = new Set<Listener<T>>();
  get active(): boolean {
    return this.listeners.size > 0;
  }
  on(listener: Listener<T>): Disposer {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
  emit(value: T, onThrow: (error: unknown) => void): void {
    for (const l of this.listeners) {
      try {
        l(value);
      } catch (error) {
        onThrow(error);
      }
    }
  }
}

/**
 * Creates an orchestrator: it starts sagas, drives them step by step with
 * every transition persisted before the next action, compensates on
 * failure, and — once `run()` — recovers unfinished sagas from the store
 * under leases renewed by heartbeat, so two orchestrators never drive the
 * same saga and a dead one's sagas are taken over.
 *
 * @example
 * ```ts
 * const store = createSqliteSagaStore({ path: 'data/orchestrator.db' });
 * await store.migrate();
 * const orchestrator = createOrchestrator({ store, sagas: [orderSaga] });
 * orchestrator.run();
 * await orchestrator.start(orderSaga, { orderId: 'o-1', amount: 1999 }, { sagaId: 'order-o-1' });
 * const done = await orchestrator.wait('order-o-1'); // { state: 'completed', … }
 * ```
 */
export function createOrchestrator(options: OrchestratorOptions): Orchestrator {
  const { store } = options;
  const clock = options.clock ?? wallClock;
  const owner = options.owner ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseMs = positive(options.leaseMs, 10_000, 'leaseMs');
  const heartbeatMs = positive(options.heartbeatMs, Math.max(1, Math.floor(leaseMs / 3)), 'heartbeatMs');
  const pollMs = positive(options.pollMs, 1_000, 'pollMs');
  const maxConcurrent = positive(options.maxConcurrent, 100, 'maxConcurrent');
  const source = options.source ?? 'sluice-saga';
  const newId = options.newId ?? randomUUID;

  const sagas = new Map<string, SagaDefinition>();
  const policies = new Map<string, StepPolicies[]>();
  for (const def of options.sagas) {
    if (sagas.has(def.name)) throw invalid(`saga ${def.name} is given twice`, 'sagas');
    sagas.set(def.name, def as SagaDefinition);
    policies.set(
      def.name,
      def.steps.map((s) => stepPolicies(def.name, s, clock)),
    );
  }
  const names = [...sagas.keys()];

  const events = new Emitter<SagaEnvelope>();
  const errors = new Emitter<{ readonly sagaId: string | undefined; readonly error: unknown }>();
  const reportError = (error: unknown, sagaId: string | undefined) => {
    if (errors.active) errors.emit({ sagaId, error }, () => undefined);
  };

  const runs = new Map<string, SagaRun>();
  /** Claims of sagas still driven by an older run of ours (our lease expired and we re-claimed it). */
  const pending = new Map<string, ClaimedSaga>();
  /** Local waiters, woken when a run of ours ends. */
  const waiters = new Map<string, Set<() => void>>();
  const tasks = new Set<Promise<void>>();
  let running = false;
  let closed = false;
  let pollTimer: TimerHandle | undefined;
  let heartbeatTimer: TimerHandle | undefined;
  let polling = false;

  const env: RunEnvironment = {
    store,
    clock,
    owner,
    source,
    newId,
    policies,
    emit(list) {
      if (!events.active) return;
      for (const e of list) events.emit(e, (error) => reportError(error, e.subject));
    },
    reportError,
  };

  const wake = (sagaId: string) => {
    const set = waiters.get(sagaId);
    if (set === undefined) return;
    waiters.delete(sagaId);
    for (const w of set) w();
  };

  const drive = (claimed: ClaimedSaga) => {
    const def = sagas.get(claimed.record.name);
    if (def === undefined) return;
    const sagaRun = new SagaRun(env, def, claimed);
    runs.set(sagaRun.id, sagaRun);
    const task = sagaRun
      .drive()
      .catch(async (error) => {
        if (error === LEASE_LOST) return;
        reportError(error, sagaRun.id);
        // Hand the saga back at once: it is claimed again (by us or another) on a later poll.
        await store.release(owner, [sagaRun.id]).catch((e) => reportError(e, sagaRun.id));
      })
      .finally(() => {
        tasks.delete(task);
        if (runs.get(sagaRun.id) === sagaRun) runs.delete(sagaRun.id);
        wake(sagaRun.id);
        const next = pending.get(sagaRun.id);
        if (next !== undefined && !closed) {
          pending.delete(sagaRun.id);
          drive(next);
        }
      });
    tasks.add(task);
  };

  const schedulePoll = (delay: number) => {
    if (!running || closed) return;
    if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
    pollTimer = clock.setTimeout(() => {
      pollTimer = undefined;
      void poll();
    }, delay);
  };

  const poll = async () => {
    if (!running || closed || polling) return;
    polling = true;
    try {
      const room = maxConcurrent - runs.size;
      if (room > 0) {
        const now = clock.now();
        const claimed = await store.claim(owner, now, now + leaseMs, room, names);
        for (const c of claimed) {
          if (closed) break;
          if (runs.has(c.record.id)) pending.set(c.record.id, c);
          else drive(c);
        }
      }
    } catch (error) {
      reportError(error, undefined);
    } finally {
      polling = false;
      schedulePoll(pollMs);
    }
  };

  const heartbeat = () => {
    if (!running || closed) return;
    heartbeatTimer = clock.setTimeout(
      () => {
        store
          .renew(owner, clock.now() + leaseMs, [...runs.keys(), ...pending.keys()])
          .catch((error) => reportError(error, undefined))
          .finally(heartbeat);
      },
      heartbeatMs,
      { unref: true },
    );
  };

  const operatorHistory = (sagaId: string, event: string, note: string | undefined): HistoryEntry => ({
    sagaId,
    step: undefined,
    phase: 'saga',
    event,
    attempt: undefined,
    at: clock.now(),
    durationMs: undefined,
    error: undefined,
    owner: 'operator',
    note,
  });

  const lifecycle = (record: SagaRecord, type: SagaEnvelope['type'], data: Record<string, unknown>) =>
    createEnvelope({
      id: newId(),
      type,
      source,
      subject: record.id,
      time: new Date(clock.now()),
      correlationId: record.correlationId,
      ...(record.causationId === undefined ? {} : { causationId: record.causationId }),
      data: { sagaId: record.id, saga: record.name, ...data },
    }) as SagaEnvelope;

  const mustGet = async (sagaId: string) => {
    const record = await store.get(sagaId);
    if (record === undefined) throw notFound(sagaId);
    return record;
  };

  return {
    owner,
    get driving() {
      return runs.size;
    },

    async start(saga, input, startOptions) {
      if (closed)
        throw new SluiceError({ code: 'unavailable', reason: SagaReasons.CLOSED, message: 'closed' });
      const sagaId = startOptions?.sagaId;
      if (typeof sagaId !== 'string' || !ID_PATTERN.test(sagaId)) {
        throw invalid(`sagaId must match ${ID_PATTERN}`, 'sagaId');
      }
      const def = sagas.get(saga?.name);
      if (def === undefined || def !== (saga as SagaDefinition)) {
        throw invalid(
          `saga ${String(saga?.name)} is not one of this orchestrator's sagas`,
          'saga',
          SagaReasons.UNKNOWN_SAGA,
        );
      }
      for (const field of ['correlationId', 'causationId'] as const) {
        const v = startOptions[field];
        if (v !== undefined && (typeof v !== 'string' || !ID_PATTERN.test(v))) {
          throw invalid(`${field} must match ${ID_PATTERN}`, field);
        }
      }
      const deadlineMs = startOptions.deadlineMs ?? def.deadlineMs;
      if (deadlineMs !== undefined) positive(deadlineMs, 0, 'deadlineMs');
      let stored: unknown;
      try {
        stored = jsonRoundTrip(input, 'input');
      } catch {
        throw invalid('input must be JSON-serialisable', 'input');
      }
      const now = clock.now();
      const claim = running && runs.size < maxConcurrent;
      const correlationId = startOptions.correlationId ?? sagaId;
      const draft = {
        id: sagaId,
        name: def.name,
        correlationId,
        causationId: startOptions.causationId,
      } as SagaRecord;
      const started = lifecycle(draft, 'saga.started', { steps: def.steps.map((s) => s.name) });
      const { created, record } = await store.create(
        {
          id: sagaId,
          name: def.name,
          input: stored,
          correlationId,
          causationId: startOptions.causationId,
          deadlineAt: deadlineMs === undefined ? undefined : now + deadlineMs,
          now,
          leaseOwner: claim ? owner : undefined,
          leaseExpiresAt: claim ? now + leaseMs : undefined,
        },
        [started],
      );
      if (!created) {
        if (record.name !== def.name) {
          throw new SluiceError({
            code: 'already_exists',
            reason: SagaReasons.ID_CONFLICT,
            message: `saga id ${sagaId} belongs to a ${record.name} saga`,
          });
        }
        return { sagaId, created: false, state: record.state };
      }
      env.emit([started]);
      if (claim && !closed) drive({ record, steps: [] });
      return { sagaId, created: true, state: record.state };
    },

    async wait(sagaId, waitOptions = {}) {
      const timeoutMs = positive(waitOptions.timeoutMs, 30_000, 'timeoutMs');
      const until = clock.now() + timeoutMs;
      for (;;) {
        const local = runs.get(sagaId);
        const record = local?.record ?? (await mustGet(sagaId));
        if (isFinalState(record.state) || record.state === 'needs_attention') return record;
        const left = until - clock.now();
        if (left <= 0) {
          throw new SluiceError({
            code: 'deadline_exceeded',
            reason: SagaReasons.WAIT_TIMEOUT,
            message: `saga ${sagaId} is still ${record.state} after ${timeoutMs} ms`,
          });
        }
        await new Promise<void>((resolve) => {
          const set = waiters.get(sagaId) ?? new Set<() => void>();
          waiters.set(sagaId, set);
          const done = () => {
            clock.clearTimeout(timer);
            set.delete(done);
            resolve();
          };
          const timer = clock.setTimeout(done, Math.min(left, pollMs));
          set.add(done);
        });
      }
    },

    run() {
      if (closed)
        throw new SluiceError({ code: 'unavailable', reason: SagaReasons.CLOSED, message: 'closed' });
      if (running) return;
      running = true;
      heartbeat();
      void poll();
    },

    async close(closeOptions = {}) {
      if (closed) return;
      closed = true;
      running = false;
      if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
      if (heartbeatTimer !== undefined) clock.clearTimeout(heartbeatTimer);
      for (const r of runs.values()) r.abandon();
      await Promise.allSettled([...tasks]);
      if (closeOptions.releaseLeases !== false) {
        await store.release(owner).catch((error) => reportError(error, undefined));
      }
    },

    async cancel(sagaId) {
      const record = await store.requestCancel(sagaId, clock.now());
      if (record === undefined) throw notFound(sagaId);
      if (!(ACTIVE_STATES as readonly string[]).includes(record.state)) {
        throw invalidState(sagaId, record.state, 'cancel');
      }
      runs.get(sagaId)?.requestCancel();
      return record;
    },

    list(filter = {}) {
      if (
        filter.state !== undefined &&
        !['running', 'compensating', 'completed', 'failed', 'needs_attention', 'resolved'].includes(
          filter.state,
        )
      ) {
        return Promise.reject(invalid(`unknown state ${String(filter.state)}`, 'state'));
      }
      const limit = filter.limit ?? 100;
      if (!(Number.isInteger(limit) && limit >= 1 && limit <= 10_000)) {
        return Promise.reject(invalid('limit must be an integer from 1 to 10000', 'limit'));
      }
      return store.list({ ...filter, limit });
    },

    async inspect(sagaId) {
      const saga = await mustGet(sagaId);
      const [steps, stored] = await Promise.all([store.steps(sagaId), store.history(sagaId)]);
      // The start is the saga row itself (no history write on the hot path).
      const started: HistoryEntry = {
        sagaId,
        step: undefined,
        phase: 'saga',
        event: 'started',
        attempt: undefined,
        at: saga.createdAt,
        durationMs: undefined,
        error: undefined,
        owner: undefined,
      };
      return { saga, steps, history: [started, ...stored] };
    },

    async retry(sagaId, note) {
      const record = await mustGet(sagaId);
      if (record.state !== 'needs_attention') throw invalidState(sagaId, record.state, 'retry');
      const reason = record.error ?? {
        code: 'unknown',
        reason: SagaReasons.COMPENSATION_FAILED,
        message: 'retry',
      };
      const ok = await store.operatorChange({
        sagaId,
        from: 'needs_attention',
        to: 'compensating',
        now: clock.now(),
        finished: false,
        history: [operatorHistory(sagaId, 'retried', note)],
        events: [lifecycle(record, 'saga.compensating', { reason })],
      });
      if (!ok) throw invalidState(sagaId, (await mustGet(sagaId)).state, 'retry');
      schedulePoll(0);
    },

    async resolve(sagaId, note) {
      if (typeof note !== 'string' || note.length === 0 || note.length > 1000) {
        throw invalid('a note (1 to 1000 characters) saying how it was resolved is required', 'note');
      }
      const record = await mustGet(sagaId);
      if (record.state !== 'needs_attention') throw invalidState(sagaId, record.state, 'resolve');
      const ok = await store.operatorChange({
        sagaId,
        from: 'needs_attention',
        to: 'resolved',
        now: clock.now(),
        finished: true,
        history: [operatorHistory(sagaId, 'resolved', note)],
        events: [],
      });
      if (!ok) throw invalidState(sagaId, (await mustGet(sagaId)).state, 'resolve');
    },

    onEvent(listener) {
      return events.on(listener);
    },

    onError(listener) {
      return errors.on(listener);
    },
  };
}
