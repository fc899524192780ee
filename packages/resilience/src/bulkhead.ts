import { type Clock, systemClock, type TimerHandle } from './clock.js';
import type { Ctx, Operation } from './context.js';
import { abortError, BulkheadFullError, BulkheadTimeoutError, frozen, invalidOption } from './errors.js';
import { type Disposer, Emitter, type Listener } from './events.js';
import { FastFail, isThenable, next, PolicyBase, type PolicyDescription } from './policy.js';

/** Options of {@link bulkhead}. */
export interface BulkheadOptions {
  /** Calls allowed to run at once (>= 1). */
  readonly maxConcurrent: number;
  /** Calls allowed to wait for a slot; beyond that calls are rejected at once. Default 0 (no queue). */
  readonly maxQueued?: number;
  /** Longest a call waits in the queue, in ms, before `BulkheadTimeoutError`. Default: no limit. */
  readonly queueTimeoutMs?: number;
  /** Name in errors, events and metrics. Default `'bulkhead'`. */
  readonly name?: string;
  /** Default {@link systemClock} (used only for the queue timeout). */
  readonly clock?: Clock;
}

/** Emitted when a call is turned away. */
export interface BulkheadRejectionEvent {
  readonly bulkhead: string;
  /** `full`: no slot and no queue space; `queue-timeout`: waited too long; `aborted`: its signal aborted while queued. */
  readonly reason: 'full' | 'queue-timeout' | 'aborted';
}

/** A snapshot of a {@link BulkheadPolicy}. */
export interface BulkheadMetrics {
  readonly kind: 'bulkhead';
  readonly name: string;
  /** Calls running now. */
  readonly active: number;
  /** Calls waiting now. */
  readonly queued: number;
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  /** Calls that ran. */
  readonly executed: number;
  /** Calls rejected (full). */
  readonly rejected: number;
  /** Queued calls that timed out. */
  readonly queueTimeouts: number;
  /** Queued calls whose signal aborted. */
  readonly aborted: number;
}

/** A call waiting for a slot. */
interface Waiter {
  live: boolean;
  resolve: () => void;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Limits how many calls run at once. See {@link bulkhead}. */
export class BulkheadPolicy extends PolicyBase {
  readonly name: string;
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly queueTimeoutMs: number | undefined;
  private readonly clock: Clock;
  private active = 0;
  private queued = 0;
  // FIFO of waiters; a waiter that left (timeout, abort) stays as a dead
  // entry until it reaches the front, but `queued` frees its place at once.
  private readonly queue: Waiter[] = [];
  private head = 0;
  private executed = 0;
  private rejected = 0;
  private queueTimeouts = 0;
  private aborted = 0;
  private readonly rejectEvents = new Emitter<BulkheadRejectionEvent>();
  private readonly fullRejection: FastFail;

  constructor(options: BulkheadOptions) {
    super();
    this.name = options.name ?? 'bulkhead';
    this.maxConcurrent = options.maxConcurrent;
    this.maxQueued = options.maxQueued ?? 0;
    this.queueTimeoutMs = options.queueTimeoutMs;
    this.clock = options.clock ?? systemClock;
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1)
      throw invalidOption('bulkhead', 'maxConcurrent', `must be an integer >= 1, got ${this.maxConcurrent}`);
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 0)
      throw invalidOption('bulkhead', 'maxQueued', `must be an integer >= 0, got ${this.maxQueued}`);
    if (this.queueTimeoutMs !== undefined && !(this.queueTimeoutMs >= 0))
      throw invalidOption('bulkhead', 'queueTimeoutMs', `must be >= 0, got ${this.queueTimeoutMs}`);
    this.fullRejection = new FastFail(
      frozen(new BulkheadFullError(this.name, this.maxConcurrent, this.maxQueued)),
    );
  }

  /** @internal */
  run(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown> {
    if (this.active < this.maxConcurrent) {
      this.active++;
      return this.runHeld(fn, chain, index, ctx);
    }
    if (this.queued < this.maxQueued) return this.wait(fn, chain, index, ctx);
    this.rejected++;
    this.emitReject('full');
    if (ctx.outcome) return Promise.resolve(this.fullRejection);
    return Promise.reject(new BulkheadFullError(this.name, this.maxConcurrent, this.maxQueued));
  }

  /** Runs with a slot already taken, and gives it back. */
  private runHeld(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown> {
    this.executed++;
    let result: unknown;
    try {
      result = next(fn, chain, index, ctx);
    } catch (error) {
      this.release();
      return Promise.reject(error);
    }
    if (!isThenable(result)) {
      this.release();
      return Promise.resolve(result);
    }
    // Giving the slot back needs nothing from the call: two handlers shared by every call.
    return Promise.resolve(result).then(this.releaseAfterValue, this.releaseAfterError);
  }

  private readonly releaseAfterValue = (value: unknown): unknown => {
    this.release();
    return value;
  };

  private readonly releaseAfterError = (error: unknown): never => {
    this.release();
    throw error;
  };

  private async wait(
    fn: Operation<unknown>,
    chain: readonly PolicyBase<unknown>[],
    index: number,
    ctx: Ctx,
  ): Promise<unknown> {
    const signal = ctx.abortable();
    if (signal?.aborted) throw abortError(signal);
    this.queued++;
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { live: true, resolve, timer: undefined, signal, onAbort: undefined };
      const leave = (reason: 'queue-timeout' | 'aborted', error: unknown) => {
        if (!waiter.live) return;
        this.unqueue(waiter);
        if (reason === 'queue-timeout') this.queueTimeouts++;
        else this.aborted++;
        this.emitReject(reason);
        reject(error);
      };
      if (this.queueTimeoutMs !== undefined) {
        const ms = this.queueTimeoutMs;
        waiter.timer = this.clock.setTimeout(
          () => leave('queue-timeout', new BulkheadTimeoutError(this.name, ms)),
          ms,
        );
      }
      if (signal !== undefined) {
        waiter.onAbort = () => leave('aborted', abortError(signal));
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
    });
    // release() handed its slot to us (active was not decremented).
    return this.runHeld(fn, chain, index, ctx);
  }

  /** Takes a waiter out of the count and drops its timer and listener. */
  private unqueue(waiter: Waiter): void {
    waiter.live = false;
    this.queued--;
    if (waiter.timer !== undefined) this.clock.clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  private release(): void {
    const q = this.queue;
    while (this.head < q.length) {
      const waiter = q[this.head] as Waiter;
      this.head++;
      if (waiter.live) {
        this.unqueue(waiter);
        this.compact();
        waiter.resolve(); // the slot passes to the waiter
        return;
      }
    }
    this.compact();
    this.active--;
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private emitReject(reason: BulkheadRejectionEvent['reason']): void {
    if (this.rejectEvents.active) this.rejectEvents.emit({ bulkhead: this.name, reason });
  }

  /** Listens for calls turned away (full, queue timeout, aborted while queued). */
  onRejected(listener: Listener<BulkheadRejectionEvent>): Disposer {
    return this.rejectEvents.on(listener);
  }

  /** Calls running now. */
  get activeCount(): number {
    return this.active;
  }

  /** Calls waiting now. */
  get queuedCount(): number {
    return this.queued;
  }

  describe(): PolicyDescription {
    return {
      kind: 'bulkhead',
      name: this.name,
      options: {
        maxConcurrent: this.maxConcurrent,
        maxQueued: this.maxQueued,
        ...(this.queueTimeoutMs === undefined ? {} : { queueTimeoutMs: this.queueTimeoutMs }),
      },
    };
  }

  metrics(): BulkheadMetrics {
    return {
      kind: 'bulkhead',
      name: this.name,
      active: this.active,
      queued: this.queued,
      maxConcurrent: this.maxConcurrent,
      maxQueued: this.maxQueued,
      executed: this.executed,
      rejected: this.rejected,
      queueTimeouts: this.queueTimeouts,
      aborted: this.aborted,
    };
  }
}

/**
 * Limits how many calls run at once (and how many may wait), so one slow
 * downstream cannot take every socket, thread of work or memory. A queued
 * call whose signal aborts, or that waits past `queueTimeoutMs`, leaves the
 * queue at once and frees its place.
 *
 * @example
 * ```ts
 * const pool = bulkhead({ maxConcurrent: 10, maxQueued: 50, queueTimeoutMs: 1_000 });
 * ```
 */
export function bulkhead(options: BulkheadOptions): BulkheadPolicy {
  return new BulkheadPolicy(options);
}
