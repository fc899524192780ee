import { SluiceError } from '@sluice/errors';
import type { Backoff } from '@sluice/resilience';
import { SagaReasons } from './reasons.js';
import type { SagaErrorInfo } from './saga-record.js';

/** What a step's `execute` receives. */
export interface StepContext<I, R> {
  readonly sagaId: string;
  /** The step's name. */
  readonly step: string;
  /**
   * `<sagaId>:<step>`: the same for every attempt, retry and recovery of this
   * step. Pass it to the service the step calls, so a re-run has no second effect.
   */
  readonly idempotencyKey: string;
  /** The saga's input, as given to `start()`. */
  readonly input: I;
  /** The outputs of the steps before this one, by step name (a failed non-critical step's is `undefined`). */
  readonly results: R;
  /** This attempt's number, from 1, within the current run of the step. */
  readonly attempt: number;
  /** Aborts when the attempt times out or the orchestrator closes. Pass it to I/O. */
  readonly signal: AbortSignal;
}

/** What a step's `compensate` receives. */
export interface CompensationContext<I, R, O> extends StepContext<I, R> {
  /** The step's checkpointed output: what to undo. */
  readonly output: O;
  /** `<sagaId>:<step>:compensate`: stable across compensation attempts and recoveries. */
  readonly compensationKey: string;
  /** Why the saga is compensating. */
  readonly reason: SagaErrorInfo;
}

/** Retry settings of a step or a compensation. */
export interface StepRetryOptions {
  /** Total attempts, the first included. Default 3 for steps, 5 for compensations. */
  readonly maxAttempts?: number;
  /** Delay before each retry. Default `exponential({ baseMs: 100, maxMs: 5_000 })` (full jitter). */
  readonly backoff?: Backoff;
  /**
   * Whether an error is worth another attempt. Default for steps: the error's
   * own retryability (`isRetryable` from `@sluice/errors`: `unavailable`,
   * `deadline_exceeded`, `resource_exhausted`); for compensations: every error
   * (an undo must eventually succeed, or the saga is parked).
   */
  readonly retryOn?: (error: unknown, attempt: number) => boolean;
}

/** One step of a saga: what it does, how to undo it, and how hard to try. */
export interface StepOptions<I, R, O> {
  /**
   * Does the step's work and returns its output, which is checkpointed (it
   * must be plain JSON) and handed to later steps and to `compensate`. May
   * run more than once before its checkpoint (a crash, a retry): make it
   * idempotent with `idempotencyKey`.
   */
  execute(ctx: StepContext<I, R>): O | Promise<O>;
  /** Undoes a completed step. Also at-least-once: key it with `compensationKey`. Default: nothing to undo. */
  compensate?(ctx: CompensationContext<I, R, O>): unknown;
  /** Retries of `execute`. See {@link StepRetryOptions}. */
  readonly retry?: StepRetryOptions;
  /** Limit of one attempt of `execute`, in ms. Default 30 000. */
  readonly timeoutMs?: number;
  /** Retries and time limit of `compensate` (defaults: 5 attempts, every error retried; 30 000 ms). */
  readonly compensation?: { readonly retry?: StepRetryOptions; readonly timeoutMs?: number };
  /**
   * `false`: the step's failure is recorded and the saga goes on (its result
   * is `undefined` for later steps). Default `true`: its failure compensates the saga.
   */
  readonly critical?: boolean;
}

/** A step as the orchestrator sees it (types erased). */
export interface StepDefinition {
  readonly name: string;
  readonly index: number;
  readonly options: StepOptions<unknown, Record<string, unknown>, unknown>;
  readonly critical: boolean;
}

/**
 * An ordered list of typed steps, built with {@link sagaSteps}. `I` is the
 * saga's input, `R` the outputs of the steps so far, by name.
 */
export interface SagaSteps<I, R> {
  /** The steps, in order. */
  readonly list: readonly StepDefinition[];
  /** Adds a non-critical step: later steps see its result as `O | undefined`. */
  step<N extends string, O>(
    name: N,
    options: StepOptions<I, R, O> & { readonly critical: false },
  ): SagaSteps<I, R & { readonly [K in N]: O | undefined }>;
  /** Adds a step: later steps see its output under `results[name]`. */
  step<N extends string, O>(
    name: N,
    options: StepOptions<I, R, O>,
  ): SagaSteps<I, R & { readonly [K in N]: O }>;
}

/** Step names: a letter, then letters, digits, `_`, `-` or `.`; at most 64 characters. */
export const STEP_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Saga names follow the same rule as step names. */
export const SAGA_NAME_PATTERN = STEP_NAME_PATTERN;

function invalid(message: string, field: string): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: SagaReasons.INVALID_ARGUMENT,
    message,
    details: { violations: [{ field, message }] },
  });
}

function checkPositive(value: number | undefined, field: string): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw invalid(`${field} must be a positive number of milliseconds`, field);
  }
}

function build<I, R>(list: readonly StepDefinition[]): SagaSteps<I, R> {
  return {
    list,
    step(name: string, options: StepOptions<I, R, unknown>) {
      if (typeof name !== 'string' || !STEP_NAME_PATTERN.test(name)) {
        throw invalid(`step name ${JSON.stringify(name)} must match ${STEP_NAME_PATTERN}`, 'steps.name');
      }
      if (list.some((s) => s.name === name)) throw invalid(`step ${name} is declared twice`, `steps.${name}`);
      if (typeof options?.execute !== 'function') {
        throw invalid(`step ${name} needs an execute function`, `steps.${name}.execute`);
      }
      if (options.compensate !== undefined && typeof options.compensate !== 'function') {
        throw invalid(`step ${name}: compensate must be a function`, `steps.${name}.compensate`);
      }
      checkPositive(options.timeoutMs, `steps.${name}.timeoutMs`);
      checkPositive(options.compensation?.timeoutMs, `steps.${name}.compensation.timeoutMs`);
      const def: StepDefinition = Object.freeze({
        name,
        index: list.length,
        options: options as unknown as StepDefinition['options'],
        critical: options.critical !== false,
      });
      return build([...list, def]);
    },
  } as SagaSteps<I, R>;
}

/**
 * Starts a typed list of steps for a saga whose input is `I`.
 *
 * @example
 * ```ts
 * const steps = sagaSteps<{ orderId: string }>()
 *   .step('reserve', { execute: ({ input, idempotencyKey }) => inventory.reserve(input.orderId, idempotencyKey) })
 *   .step('charge', { execute: ({ results }) => payments.charge(results.reserve.reservationId) });
 * ```
 */
export function sagaSteps<I>(): SagaSteps<I, {}> {
  return build<I, {}>([]);
}

/** Options of {@link defineSaga}. */
export interface SagaOptions<I, R> {
  /** Unique among the sagas of one orchestrator; stored with each saga. */
  readonly name: string;
  /** The steps, from {@link sagaSteps}. */
  readonly steps: SagaSteps<I, R>;
  /** Default deadline of each saga, in ms from its start (`start()` may override). Default: none. */
  readonly deadlineMs?: number;
}

/** A saga definition: deterministic orchestration over typed steps. */
export interface SagaDefinition<I = unknown, R = unknown> {
  readonly name: string;
  readonly steps: readonly StepDefinition[];
  readonly deadlineMs: number | undefined;
  /** Type carrier only; never set. */
  readonly __types?: { readonly input: I; readonly results: R };
}

/**
 * Declares a saga: a name and an ordered list of steps, each with
 * `execute`, `compensate`, retry policy, timeout and `critical` flag.
 *
 * @throws SluiceError `invalid_argument` (`SAGA_INVALID_ARGUMENT`) for a bad name, no steps or a bad option.
 * @example
 * ```ts
 * const order = defineSaga({
 *   name: 'order',
 *   steps: sagaSteps<OrderInput>()
 *     .step('reserve', { execute: reserveStock, compensate: releaseStock })
 *     .step('charge', { execute: chargeCard, compensate: refund, retry: { maxAttempts: 5 } })
 *     .step('notify', { execute: sendEmail, critical: false })
 *     .step('confirm', { execute: confirmOrder }),
 * });
 * ```
 */
export function defineSaga<I, R>(options: SagaOptions<I, R>): SagaDefinition<I, R> {
  if (typeof options?.name !== 'string' || !SAGA_NAME_PATTERN.test(options.name)) {
    throw invalid(`saga name ${JSON.stringify(options?.name)} must match ${SAGA_NAME_PATTERN}`, 'name');
  }
  const list = options.steps?.list;
  if (!Array.isArray(list) || list.length === 0) throw invalid('a saga needs at least one step', 'steps');
  checkPositive(options.deadlineMs, 'deadlineMs');
  return Object.freeze({ name: options.name, steps: list, deadlineMs: options.deadlineMs });
}
