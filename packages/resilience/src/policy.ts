import {
  type Ctx,
  type ExecuteOptions,
  type Operation,
  PLAIN_OUTCOME_ROOT,
  PLAIN_ROOT,
  RootCtx,
} from './context.js';
import { currentDeadline } from './deadline.js';
import { abortError } from './errors.js';

/** The result of `executeOutcome()`: a value, or the error, never a rejection. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

/** What `describe()` returns: a policy's kind, name and settings, and for a pipeline its parts in order. */
export interface PolicyDescription {
  /** `timeout`, `retry`, `circuit-breaker`, `bulkhead`, `rate-limiter`, `hedging`, `fallback` or `pipeline`. */
  readonly kind: string;
  /** The policy's `name` option (defaults to its kind). */
  readonly name: string;
  /** The effective options, with defaults filled in, in plain JSON. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** For a pipeline: its policies, outermost first. */
  readonly policies?: readonly PolicyDescription[];
}

/**
 * Key of the type-level tag that carries a policy's `Extra` (never set at runtime).
 * @internal
 */
export const EXTRA: unique symbol = Symbol('sluice.policy.extra');

/**
 * A resilience policy: an immutable value with one job, run around an
 * operation. `Extra` is what the policy may return instead of the
 * operation's value (a fallback's value; `never` for every other policy).
 */
export interface Policy<Extra = never> {
  /** Type-level only: lets `pipeline()` infer `Extra`. Never set at runtime. */
  readonly [EXTRA]?: () => Extra;
  /**
   * Runs `fn` under the policy.
   *
   * @param fn the operation; it receives an {@link ExecutionContext} whose
   *   `signal` it should pass to its I/O.
   * @param signal the caller's `AbortSignal`, or `{ signal, deadline }`.
   * @returns the operation's value; rejects with its error or the policy's.
   */
  execute<T>(fn: Operation<T>, signal?: AbortSignal | ExecuteOptions): Promise<T | Extra>;
  /**
   * Like {@link execute} but never rejects: `{ ok: true, value }` or
   * `{ ok: false, error }`. Rejections by an open breaker, a full bulkhead
   * or an exhausted rate limiter reuse one frozen error per policy instead of
   * building a new one (no stack capture), which makes fast failure cheap.
   */
  executeOutcome<T>(fn: Operation<T>, signal?: AbortSignal | ExecuteOptions): Promise<Outcome<T | Extra>>;
  /** The policy's kind, name and effective options (a pipeline lists its parts, outermost first). */
  describe(): PolicyDescription;
  /** A snapshot of the policy's counters and state. */
  metrics(): object;
}

/**
 * A rejection on the `executeOutcome()` path, carried as a resolved value
 * instead of a rejected promise: a rejected promise with no handler yet
 * costs Node's unhandled-rejection tracking (~0.5 µs), an Error's stack
 * capture ~3 µs. Each rejecting policy builds one frozen instance per kind
 * of rejection at construction and returns it for every rejected call; the
 * policies that inspect outcomes (breaker, retry, hedging, fallback) treat
 * it as a failure with {@link FastFail.error}, the others pass it through,
 * and `executeOutcome()` turns it into its prebuilt outcome. It never reaches
 * user code: only policies running under `executeOutcome()` return it.
 * @internal
 */
export class FastFail {
  readonly error: unknown;
  readonly outcome: Outcome<never>;
  constructor(error: unknown) {
    this.error = error;
    this.outcome = Object.freeze({ ok: false, error });
    Object.freeze(this);
  }
}

const settled = (value: unknown): Outcome<unknown> =>
  value instanceof FastFail ? value.outcome : { ok: true, value };
const fail = (error: unknown): Outcome<never> => ({ ok: false, error });

/** Builds the root context from `execute()`'s second argument. */
function rootCtx(arg: AbortSignal | ExecuteOptions | undefined, outcome: boolean): Ctx {
  if (arg === undefined) {
    const ambient = currentDeadline();
    if (ambient === undefined) return outcome ? PLAIN_OUTCOME_ROOT : PLAIN_ROOT;
    return new RootCtx(undefined, ambient, outcome);
  }
  if (typeof (arg as AbortSignal).addEventListener === 'function') {
    return new RootCtx(arg as AbortSignal, currentDeadline(), outcome);
  }
  const options = arg as ExecuteOptions;
  const ambient = currentDeadline();
  const deadline = options.deadline === undefined ? ambient : options.deadline.min(ambient);
  return new RootCtx(options.signal, deadline, outcome);
}

/**
 * The base of every policy of this package. Policies run as a chain (a
 * pipeline is a flat list, outermost first): each one calls {@link next} to
 * run the rest, so composing allocates no closure per call.
 * @internal
 */
export abstract class PolicyBase<Extra = never> implements Policy<Extra> {
  /** Type-level only (see {@link Policy}); never set at runtime. */
  declare readonly [EXTRA]?: () => Extra;
  /** The policies this one runs, outermost first: `[this]`, or a pipeline's parts. @internal */
  readonly chain: readonly PolicyBase<unknown>[];

  constructor(chain?: readonly PolicyBase<unknown>[]) {
    this.chain = chain ?? [this as PolicyBase<unknown>];
  }

  /**
   * Runs `chain[index]` (this policy) around the rest of the chain.
   * @internal
   */
  abstract run(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown>;

  abstract describe(): PolicyDescription;
  abstract metrics(): object;

  execute<T>(fn: Operation<T>, signal?: AbortSignal | ExecuteOptions): Promise<T | Extra> {
    const ctx = rootCtx(signal, false);
    const given = ctx.abortable();
    if (given?.aborted) return Promise.reject(abortError(given));
    const chain = this.chain;
    return (chain[0] as PolicyBase<unknown>).run(fn, chain, 0, ctx) as Promise<T | Extra>;
  }

  executeOutcome<T>(fn: Operation<T>, signal?: AbortSignal | ExecuteOptions): Promise<Outcome<T | Extra>> {
    const ctx = rootCtx(signal, true);
    const given = ctx.abortable();
    if (given?.aborted) return Promise.resolve(fail(abortError(given)));
    const chain = this.chain;
    return (chain[0] as PolicyBase<unknown>).run(fn, chain, 0, ctx).then(settled, fail) as Promise<
      Outcome<T | Extra>
    >;
  }
}

/**
 * Runs what lies inside `chain[index]`: the next policy, or the operation
 * itself. May throw synchronously (when `fn` does) or return a plain value.
 * @internal
 */
export function next(
  fn: Operation<unknown>,
  chain: readonly PolicyBase<unknown>[],
  index: number,
  ctx: Ctx,
): unknown {
  const inner = chain[index + 1];
  return inner === undefined ? fn(ctx) : inner.run(fn, chain, index + 1, ctx);
}

/** True for anything with a `then` method. @internal */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Something that settles a promise made by {@link deferred}. @internal */
export interface Settler {
  resolve: ((value: unknown) => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
}

let capturedResolve: ((value: unknown) => void) | undefined;
let capturedReject: ((error: unknown) => void) | undefined;
const capture = (resolve: (value: unknown) => void, reject: (error: unknown) => void): void => {
  capturedResolve = resolve;
  capturedReject = reject;
};

/**
 * A new promise whose resolve and reject functions are stored on `target`
 * (the executor is one shared function, so no closure is allocated).
 * @internal
 */
export function deferred(target: Settler): Promise<unknown> {
  const promise = new Promise<unknown>(capture);
  target.resolve = capturedResolve;
  target.reject = capturedReject;
  return promise;
}
