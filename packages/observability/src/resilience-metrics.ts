import { SluiceError } from '@sluice/errors';
import type {
  BulkheadMetrics,
  CircuitBreakerMetrics,
  CircuitState,
  Disposer,
  Policy,
  RetryBudget,
  RetryBudgetMetrics,
  RetryMetrics,
  TimeoutMetrics,
} from '@sluice/resilience';
import { Counter, Gauge } from 'prom-client';
import { invalidOption } from './invalid-options.js';
import { ensureMetric, type Metrics, perRegistry } from './metrics.js';
import { ObservabilityReasons } from './reasons.js';

/** What {@link bindResilienceMetrics} reports on: a policy (a pipeline included), a retry budget, or several. */
export type ResilienceSource = Policy<unknown> | RetryBudget;

/** A snapshot as `metrics()` returns it; `kind` says which fields it has. */
interface Snapshot {
  readonly kind: string;
  readonly name?: string;
  readonly [field: string]: unknown;
}

interface Binding {
  readonly name: string;
  readonly sources: readonly ResilienceSource[];
}

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];

/** Every leaf snapshot of a source: a pipeline's parts, outermost first. */
function* leaves(snapshot: Snapshot): Generator<Snapshot> {
  if (snapshot.kind === 'pipeline' && Array.isArray(snapshot.policies)) {
    for (const part of snapshot.policies as Snapshot[]) yield* leaves(part);
  } else {
    yield snapshot;
  }
}

/** The counters and gauges one scrape fills, from every binding's snapshots. */
interface Families {
  breakerState: Gauge<'name' | 'policy' | 'state'>;
  breakerCalls: Counter<'name' | 'policy' | 'outcome'>;
  breakerOpens: Counter<'name' | 'policy'>;
  bulkheadActive: Gauge<'name' | 'policy'>;
  bulkheadQueued: Gauge<'name' | 'policy'>;
  retries: Counter<'name' | 'policy'>;
  budgetTokens: Gauge<'name' | 'policy'>;
  timeouts: Counter<'name' | 'policy'>;
  rejections: Counter<'name' | 'policy' | 'kind' | 'reason'>;
}

/** Sets every family from the current snapshots. Runs once per scrape (from the first family collected). */
function fill(f: Families, bindings: Iterable<Binding>): void {
  for (const metric of Object.values(f)) metric.reset();
  for (const binding of bindings) {
    for (const source of binding.sources) {
      for (const s of leaves(source.metrics() as Snapshot)) {
        const at = { name: binding.name, policy: s.name ?? s.kind };
        const reject = (reason: string, count: number) =>
          f.rejections.inc({ ...at, kind: s.kind, reason }, count);
        switch (s.kind) {
          case 'circuit-breaker': {
            const b = s as unknown as CircuitBreakerMetrics;
            for (const state of STATES) f.breakerState.set({ ...at, state }, b.state === state ? 1 : 0);
            f.breakerCalls.inc({ ...at, outcome: 'success' }, b.successes);
            f.breakerCalls.inc({ ...at, outcome: 'failure' }, b.failures);
            f.breakerOpens.inc(at, b.opens);
            reject('circuit_open', b.rejections);
            break;
          }
          case 'bulkhead': {
            const b = s as unknown as BulkheadMetrics;
            f.bulkheadActive.set(at, b.active);
            f.bulkheadQueued.set(at, b.queued);
            reject('bulkhead_full', b.rejected);
            reject('bulkhead_queue_timeout', b.queueTimeouts);
            reject('bulkhead_aborted', b.aborted);
            break;
          }
          case 'retry': {
            const r = s as unknown as RetryMetrics;
            f.retries.inc(at, r.retries);
            reject('retry_budget_exhausted', r.budgetRejections);
            if (r.budgetTokens !== undefined) f.budgetTokens.set(at, r.budgetTokens);
            break;
          }
          case 'retry-budget': {
            const r = s as unknown as RetryBudgetMetrics;
            f.budgetTokens.set(at, r.tokens);
            reject('retry_budget_exhausted', r.rejections);
            break;
          }
          case 'timeout':
            f.timeouts.inc(at, (s as unknown as TimeoutMetrics).timeouts);
            break;
          default:
            // Policies added to @sluice/resilience later (rate limiter, hedging…): their rejections, if counted.
            if (typeof s.rejections === 'number') reject(s.kind.replaceAll('-', '_'), s.rejections);
        }
      }
    }
  }
}

/** The bindings the resilience collectors of `metrics`' registry read at scrape time (registered on first use). */
function bindingsOf(metrics: Metrics): Set<Binding> {
  return perRegistry(metrics, 'resilience', () => registerFamilies(metrics));
}

function registerFamilies(metrics: Metrics): Set<Binding> {
  const set = new Set<Binding>();
  const registry = metrics.registry;
  const registers = [registry];
  const p = metrics.prefix;
  // One scrape collects every family (concurrently, in prom-client 15): fill
  // them all from the first collect, and skip the rest of that scrape.
  let filled = false;
  const collect = () => {
    if (filled) return;
    filled = true;
    queueMicrotask(() => {
      filled = false;
    });
    fill(families, set);
  };
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    ensureMetric(
      registry,
      p + name,
      () => new Gauge<L>({ name: p + name, help, labelNames, registers, collect }),
    );
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    ensureMetric(
      registry,
      p + name,
      () => new Counter<L>({ name: p + name, help, labelNames, registers, collect }),
    );
  const at = ['name', 'policy'] as const;
  const families: Families = {
    breakerState: gauge('circuit_breaker_state', 'Circuit breaker state: 1 for the current state.', [
      ...at,
      'state',
    ] as const),
    breakerCalls: counter('circuit_breaker_calls_total', 'Calls a breaker admitted, by outcome.', [
      ...at,
      'outcome',
    ] as const),
    breakerOpens: counter('circuit_breaker_opens_total', 'Times a breaker opened.', at),
    bulkheadActive: gauge('bulkhead_active', 'Calls running in a bulkhead now.', at),
    bulkheadQueued: gauge('bulkhead_queued', 'Calls waiting in a bulkhead queue now.', at),
    retries: counter('retry_retries_total', 'Retries made (attempts after the first).', at),
    budgetTokens: gauge('retry_budget_tokens', 'Tokens left in a retry budget (each pays one retry).', at),
    timeouts: counter('timeouts_total', 'Calls a timeout policy cut off.', at),
    rejections: counter('resilience_rejections_total', 'Calls a policy turned away, by reason.', [
      ...at,
      'kind',
      'reason',
    ] as const),
  };
  return set;
}

function isSource(value: unknown): value is ResilienceSource {
  if (typeof value !== 'object' || value === null) return false;
  if (typeof (value as { metrics?: unknown }).metrics !== 'function') return false;
  const snapshot = (value as ResilienceSource).metrics() as Partial<Snapshot> | undefined;
  return typeof snapshot === 'object' && snapshot !== null && typeof snapshot.kind === 'string';
}

/**
 * Exposes a `@sluice/resilience` policy's state and counters as Prometheus
 * metrics: breaker state and calls, bulkhead slots in use and queued,
 * retries, retry-budget tokens, timeouts and rejections by reason (names in
 * the README), labelled `name` (this binding's name, e.g. the downstream)
 * and `policy` (the policy's own `name` option). Pass a single policy, a
 * pipeline (every part is reported) or a list; a `RetryBudget` too.
 *
 * Values are read from the policies' `metrics()` snapshots when the registry
 * is scraped, so nothing runs on the call path, counts include calls made
 * before binding, and no listener is left behind.
 *
 * @returns a disposer that stops reporting this binding.
 * @throws SluiceError `invalid_argument`: `OBSERVABILITY_INVALID_OPTION` for an empty name,
 *   `OBSERVABILITY_NOT_A_POLICY` for something that is not a policy or budget.
 * @example
 * ```ts
 * const inventory = pipeline(bulkhead({ maxConcurrent: 20 }), circuitBreaker(), retry(), timeout(1_000));
 * bindResilienceMetrics(metrics, 'inventory', inventory);
 * ```
 */
export function bindResilienceMetrics(
  metrics: Metrics,
  name: string,
  source: ResilienceSource | readonly ResilienceSource[],
): Disposer {
  if (typeof name !== 'string' || name === '')
    throw invalidOption('bindResilienceMetrics', 'name', 'must be a non-empty string');
  const sources = Array.isArray(source) ? [...source] : [source as ResilienceSource];
  sources.forEach((s, i) => {
    if (!isSource(s))
      throw new SluiceError({
        code: 'invalid_argument',
        reason: ObservabilityReasons.OBSERVABILITY_NOT_A_POLICY,
        message: `bindResilienceMetrics: sources[${i}] is not a @sluice/resilience policy or retry budget`,
        details: {
          violations: [{ field: `sources[${i}]`, message: 'needs a metrics() method returning { kind }' }],
        },
      });
  });
  const binding: Binding = { name, sources };
  const bindings = bindingsOf(metrics);
  bindings.add(binding);
  return () => {
    bindings.delete(binding);
  };
}
