import { type ErrorCode, type FieldViolation, isErrorCode, SluiceError } from '@sluice/errors';
import { type Clock, systemClock } from '@sluice/resilience';
import { ServiceReasons } from './reasons.js';

/** What a fault does to a call: delay it, fail it, or hold it until the caller gives up. */
export type FaultKind = 'latency' | 'error' | 'hang';

/** An operator's request to add a fault. */
export interface FaultSpec {
  /**
   * The call it applies to, by name (`inventory.ReserveStock`,
   * `http:GET /api/v1/products`); a trailing `*` matches a prefix; `*` alone
   * matches every call.
   */
  readonly target: string;
  readonly kind: FaultKind;
  /** For `latency`: milliseconds added to each matching call (1 … 600 000). */
  readonly latencyMs?: number;
  /** For `error`: the code of the injected error. Default `unavailable`. */
  readonly errorCode?: ErrorCode;
  /** Share of matching calls affected, 0 < p ≤ 1. Default 1. */
  readonly probability?: number;
  /** Removes itself after this many milliseconds. Default: stays until cleared. */
  readonly durationMs?: number;
}

/** A fault in force. */
export interface Fault extends FaultSpec {
  readonly id: string;
  readonly createdAt: string;
  /** Calls it affected so far. */
  readonly hits: number;
}

/** Options of {@link createFaultInjector}. */
export interface FaultInjectorOptions {
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Source of randomness in [0, 1) for `probability`. Default `Math.random`. */
  readonly random?: () => number;
}

/** The faults of one service process. */
export interface FaultInjector {
  /** Validates and adds a fault; throws `invalid_argument` listing every bad field. */
  add(spec: unknown): Fault;
  /** Removes one fault (by id) or all; returns how many were removed. */
  clear(id?: string): number;
  list(): Fault[];
  /**
   * Applies the faults matching `target` to a call. Returns `undefined` at
   * once when none matches (the common case costs one map lookup), else a
   * promise that delays, rejects, or hangs until `signal` aborts.
   */
  inject(target: string, signal?: AbortSignal): Promise<void> | undefined;
  /** Calls `listener` whenever the set of faults changes; returns a disposer. */
  onChange(listener: (faults: Fault[]) => void): () => void;
}

interface Entry {
  fault: Fault & { hits: number };
  expiresAt: number | undefined;
}

/**
 * Fault injection for the shop's operator commands: add latency, errors or
 * hangs to named calls, to watch the resilience patterns work.
 *
 * @example
 * ```ts
 * const faults = createFaultInjector();
 * faults.add({ target: 'inventory.ReserveStock', kind: 'latency', latencyMs: 300 });
 * await faults.inject('inventory.ReserveStock', signal); // waits 300 ms
 * ```
 */
export function createFaultInjector(options: FaultInjectorOptions = {}): FaultInjector {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const entries = new Map<string, Entry>();
  const listeners = new Set<(faults: Fault[]) => void>();
  let seq = 0;

  const snapshot = (): Fault[] => [...entries.values()].map((e) => ({ ...e.fault }));
  const changed = () => {
    const now = snapshot();
    for (const l of listeners) l(now);
  };
  const expireDue = () => {
    const now = clock.now();
    let removed = false;
    for (const [id, e] of entries) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) {
        entries.delete(id);
        removed = true;
      }
    }
    if (removed) changed();
  };

  return {
    add(spec) {
      const valid = parseFaultSpec(spec);
      const id = `f${++seq}`;
      const fault = { ...valid, id, createdAt: new Date().toISOString(), hits: 0 };
      entries.set(id, {
        fault,
        expiresAt: valid.durationMs === undefined ? undefined : clock.now() + valid.durationMs,
      });
      changed();
      return { ...fault };
    },
    clear(id) {
      const n = id === undefined ? entries.size : entries.has(id) ? 1 : 0;
      if (id === undefined) entries.clear();
      else entries.delete(id);
      if (n > 0) changed();
      return n;
    },
    list() {
      expireDue();
      return snapshot();
    },
    inject(target, signal) {
      if (entries.size === 0) return undefined;
      expireDue();
      let latency = 0;
      let error: Fault | undefined;
      let hang = false;
      for (const { fault } of entries.values()) {
        if (!matches(fault.target, target)) continue;
        if (fault.probability !== undefined && random() >= fault.probability) continue;
        fault.hits++;
        if (fault.kind === 'latency') latency += fault.latencyMs ?? 0;
        else if (fault.kind === 'error') error ??= fault;
        else hang = true;
      }
      if (latency === 0 && !error && !hang) return undefined;
      return (async () => {
        if (latency > 0) await wait(clock, latency, signal);
        if (hang) await wait(clock, Number.POSITIVE_INFINITY, signal);
        if (error) {
          throw new SluiceError({
            code: error.errorCode ?? 'unavailable',
            reason: ServiceReasons.INJECTED_FAULT,
            message: `injected fault ${error.id} on ${target}`,
            details: { metadata: { faultId: error.id, target } },
          });
        }
      })();
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function matches(pattern: string, target: string): boolean {
  if (pattern === '*') return true;
  return pattern.endsWith('*') ? target.startsWith(pattern.slice(0, -1)) : pattern === target;
}

/** Waits `ms` (or until `signal` aborts, which rejects with `cancelled`). */
function wait(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cancelled = () =>
      new SluiceError({
        code: 'cancelled',
        reason: ServiceReasons.INJECTED_FAULT,
        message: 'call abandoned during an injected fault',
      });
    if (signal?.aborted) return reject(cancelled());
    const handle = Number.isFinite(ms) ? clock.setTimeout(done, ms) : undefined;
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      if (handle !== undefined) clock.clearTimeout(handle);
      reject(cancelled());
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const KINDS: readonly FaultKind[] = ['latency', 'error', 'hang'];

/**
 * Validates an operator's fault request (any JSON value). Throws a
 * `SluiceError` (`invalid_argument`, `SERVICE_INVALID_FAULT`) listing every
 * violated field; unknown fields are refused so a typo is not silently ignored.
 */
export function parseFaultSpec(value: unknown): FaultSpec {
  const v: FieldViolation[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid([{ field: '', message: 'must be an object' }]);
  }
  const o = value as Record<string, unknown>;
  const known = new Set(['target', 'kind', 'latencyMs', 'errorCode', 'probability', 'durationMs']);
  for (const k of Object.keys(o)) if (!known.has(k)) v.push({ field: k, message: 'unknown field' });
  if (typeof o.target !== 'string' || !/^[\w.:/* -]{1,200}$/.test(o.target))
    v.push({
      field: 'target',
      message: 'must be a call name of 1–200 characters (letters, digits, . : / * - _ space)',
    });
  if (!KINDS.includes(o.kind as FaultKind))
    v.push({ field: 'kind', message: 'must be latency, error or hang' });
  if (o.kind === 'latency' && !isIntIn(o.latencyMs, 1, 600_000))
    v.push({ field: 'latencyMs', message: 'must be an integer of 1…600000 ms for a latency fault' });
  if (o.kind !== 'latency' && o.latencyMs !== undefined)
    v.push({ field: 'latencyMs', message: 'only for latency faults' });
  if (
    o.errorCode !== undefined &&
    (o.kind !== 'error' || typeof o.errorCode !== 'string' || !isErrorCode(o.errorCode))
  )
    v.push({ field: 'errorCode', message: 'must be an error code, and only for error faults' });
  if (
    o.probability !== undefined &&
    !(typeof o.probability === 'number' && o.probability > 0 && o.probability <= 1)
  )
    v.push({ field: 'probability', message: 'must be a number in (0, 1]' });
  if (o.durationMs !== undefined && !isIntIn(o.durationMs, 1, 86_400_000))
    v.push({ field: 'durationMs', message: 'must be an integer of 1…86400000 ms' });
  if (v.length > 0) throw invalid(v);
  return {
    target: o.target as string,
    kind: o.kind as FaultKind,
    ...(o.latencyMs !== undefined ? { latencyMs: o.latencyMs as number } : {}),
    ...(o.errorCode !== undefined ? { errorCode: o.errorCode as ErrorCode } : {}),
    ...(o.probability !== undefined ? { probability: o.probability as number } : {}),
    ...(o.durationMs !== undefined ? { durationMs: o.durationMs as number } : {}),
  };
}

function isIntIn(x: unknown, min: number, max: number): boolean {
  return typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
}

function invalid(violations: FieldViolation[]): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: ServiceReasons.INVALID_FAULT,
    message: `invalid fault: ${violations.map((x) => `${x.field || '(body)'}: ${x.message}`).join('; ')}`,
    details: { violations },
  });
}
