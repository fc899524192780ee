import type { Deadline } from './deadline.js';

/**
 * What a policy hands the operation it runs. Every field is computed on
 * first read: an operation that never reads `signal` costs no
 * `AbortController` (that allocation, and aborting it, is most of what other
 * libraries spend per call).
 */
export interface ExecutionContext {
  /**
   * Aborts when the caller's signal aborts, a timeout passes, or a hedged
   * attempt loses. Its `reason` is the error that caused it (a
   * `TimeoutError`, for instance). Pass it to every I/O call.
   */
  readonly signal: AbortSignal;
  /** Which attempt this is, counting from 1 (the first call is attempt 1; a retry's first retry is 2). */
  readonly attempt: number;
  /**
   * The tightest deadline that applies: the caller's (explicit or
   * `withDeadline()`), narrowed by any enclosing timeout. Clients put it on
   * the wire (`grpc-timeout`).
   */
  readonly deadline: Deadline | undefined;
}

/** The work a policy runs: may return a value or a promise of one. */
export type Operation<T> = (context: ExecutionContext) => T | PromiseLike<T>;

/** The second argument of `execute()` when more than a signal is passed. */
export interface ExecuteOptions {
  /** Aborts the call: waiting stops at once and the operation's signal aborts. */
  readonly signal?: AbortSignal | undefined;
  /** The call's deadline (tightened by the current `withDeadline()` one, if any). */
  readonly deadline?: Deadline | undefined;
}

/**
 * The context policies pass down, outer to inner. Internal: the public face
 * is {@link ExecutionContext}.
 * @internal
 */
export abstract class Ctx implements ExecutionContext {
  abstract get signal(): AbortSignal;
  abstract get attempt(): number;
  abstract get deadline(): Deadline | undefined;
  /** True on the `executeOutcome()` path: rejections may use shared frozen errors. */
  abstract get outcome(): boolean;
  /** A signal that can abort this call, without creating one when nothing can. */
  abstract abortable(): AbortSignal | undefined;
}

/** The context `execute()` creates from the caller's arguments. @internal */
export class RootCtx extends Ctx {
  private readonly given: AbortSignal | undefined;
  private own: AbortSignal | undefined;
  readonly deadline: Deadline | undefined;
  readonly outcome: boolean;

  constructor(signal: AbortSignal | undefined, deadline: Deadline | undefined, outcome: boolean) {
    super();
    this.given = signal;
    this.deadline = deadline;
    this.outcome = outcome;
  }

  get attempt(): number {
    return 1;
  }

  get signal(): AbortSignal {
    // Nothing can abort this call: a fresh, never-aborting signal (not a
    // shared one, where listeners an operation forgets would pile up).
    if (this.given !== undefined) return this.given;
    this.own ??= new AbortController().signal;
    return this.own;
  }

  abortable(): AbortSignal | undefined {
    return this.given;
  }
}

/**
 * The root context of a call with no signal and no deadline: nothing can
 * abort it and it holds no per-call state, so one instance serves every such
 * call (one for `execute()`, one for `executeOutcome()`) and the call
 * allocates no context at all.
 * @internal
 */
class PlainRootCtx extends Ctx {
  readonly outcome: boolean;
  constructor(outcome: boolean) {
    super();
    this.outcome = outcome;
  }
  get attempt(): number {
    return 1;
  }
  get deadline(): undefined {
    return undefined;
  }
  get signal(): AbortSignal {
    // A fresh, never-aborting signal per read (a shared one would collect the
    // listeners operations forget to remove).
    return new AbortController().signal;
  }
  abortable(): undefined {
    return undefined;
  }
}

/** @internal */
export const PLAIN_ROOT: Ctx = new PlainRootCtx(false);
/** @internal */
export const PLAIN_OUTCOME_ROOT: Ctx = new PlainRootCtx(true);

/** A retry's or hedge's attempt: the parent's signal and deadline, its own number. @internal */
export class AttemptCtx extends Ctx {
  private readonly parent: Ctx;
  readonly attempt: number;

  constructor(parent: Ctx, attempt: number) {
    super();
    this.parent = parent;
    this.attempt = attempt;
  }

  get signal(): AbortSignal {
    return this.parent.signal;
  }
  get deadline(): Deadline | undefined {
    return this.parent.deadline;
  }
  get outcome(): boolean {
    return this.parent.outcome;
  }
  abortable(): AbortSignal | undefined {
    return this.parent.abortable();
  }
}

/**
 * A context a policy can abort (timeout, hedging). The AbortController is
 * created only if the operation (or an inner policy) reads the signal; if
 * the policy aborts before that, a later read returns an aborted signal.
 * @internal
 */
export class AbortingCtx extends Ctx {
  // Few fields on purpose: one of these is allocated per call of a timeout
  // or hedge, and everything about aborting is rare (read lazily).
  protected readonly parent: Ctx;
  readonly attempt: number;
  private controller: AbortController | undefined = undefined;
  /** The abort reason, or NOT_ABORTED. */
  private abortedWith: unknown = NOT_ABORTED;
  /** The parent's signal and the listener forwarding its abort, while attached. */
  private link: { readonly signal: AbortSignal; readonly listener: () => void } | undefined = undefined;

  constructor(parent: Ctx, attempt: number) {
    super();
    this.parent = parent;
    this.attempt = attempt;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const c = new AbortController();
      this.controller = c;
      if (this.abortedWith !== NOT_ABORTED) c.abort(this.abortedWith);
      else {
        const ps = this.parent.abortable();
        if (ps !== undefined) {
          if (ps.aborted) c.abort(ps.reason);
          else {
            const listener = () => c.abort(ps.reason);
            ps.addEventListener('abort', listener, { once: true });
            this.link = { signal: ps, listener };
          }
        }
      }
    }
    return this.controller.signal;
  }

  get deadline(): Deadline | undefined {
    return this.parent.deadline;
  }

  get outcome(): boolean {
    return this.parent.outcome;
  }

  abortable(): AbortSignal | undefined {
    return this.signal;
  }

  /** True once {@link abort} ran. */
  get isAborted(): boolean {
    return this.abortedWith !== NOT_ABORTED;
  }

  /** Aborts the signal (if anyone holds it) with `reason`; later reads see it aborted. */
  abort(reason: unknown): void {
    if (this.abortedWith !== NOT_ABORTED) return;
    this.abortedWith = reason;
    this.release();
    this.controller?.abort(reason);
  }

  /** Stops forwarding the parent's abort (no listener outlives the call). */
  release(): void {
    if (this.link !== undefined) {
      this.link.signal.removeEventListener('abort', this.link.listener);
      this.link = undefined;
    }
  }
}

const NOT_ABORTED: unique symbol = Symbol('not-aborted');
