import { SluiceError } from '@sluice/errors';
import type {
  BreakEvent,
  BudgetExhaustedEvent,
  BulkheadRejectionEvent,
  Disposer,
  GiveUpEvent,
  Listener,
  RejectionEvent,
  RetryEvent,
  TimeoutEvent,
} from '@sluice/resilience';
import type { Logger } from 'pino';
import { invalidOption } from './invalid-options.js';
import { ObservabilityReasons } from './reasons.js';
import type { ResilienceSource } from './resilience-metrics.js';

/** The event methods of `@sluice/resilience` policies, any of which a source may have. */
interface EventSource {
  onBreak?(listener: Listener<BreakEvent>): Disposer;
  onHalfOpen?(listener: Listener<{ readonly breaker: string }>): Disposer;
  onClose?(listener: Listener<{ readonly breaker: string }>): Disposer;
  onRejected?(listener: Listener<BulkheadRejectionEvent | RejectionEvent>): Disposer;
  onRetry?(listener: Listener<RetryEvent>): Disposer;
  onGiveUp?(listener: Listener<GiveUpEvent>): Disposer;
  onTimeout?(listener: Listener<TimeoutEvent>): Disposer;
  onExhausted?(listener: Listener<BudgetExhaustedEvent>): Disposer;
}

const EVENT_METHODS = [
  'onBreak',
  'onHalfOpen',
  'onClose',
  'onRejected',
  'onRetry',
  'onGiveUp',
  'onTimeout',
  'onExhausted',
] as const;

/**
 * Logs a policy's lifecycle events through `logger`, each line with
 * `event`, `name` (this binding's name) and `policy`:
 *
 * | event | level | from |
 * | --- | --- | --- |
 * | `circuit_opened` (with `reason`, `duration_ms`, `err`) | warn | breaker `onBreak` |
 * | `circuit_half_open`, `circuit_closed` | info | breaker `onHalfOpen` / `onClose` |
 * | `retry_gave_up` (with `reason`, `attempts`, `err`) | warn | retry `onGiveUp` |
 * | `retry_budget_exhausted` | warn | budget `onExhausted` |
 * | `retry_scheduled` (with `attempt`, `delay_ms`) | debug | retry `onRetry` |
 * | `call_rejected` (with `reason`: `full`, `queue-timeout`, `aborted`, `circuit_open`, …) | debug | bulkhead / breaker `onRejected` |
 * | `call_timed_out` (with `timeout_ms`) | debug | timeout `onTimeout` |
 *
 * Frequent events are `debug` so an overloaded service does not also flood
 * its logs; their counts are in the metrics (`bindResilienceMetrics`). Pass
 * the policies themselves (a pipeline's parts): a pipeline has no events of
 * its own.
 *
 * @returns a disposer removing every listener it added.
 * @throws SluiceError `invalid_argument`: `OBSERVABILITY_INVALID_OPTION` for an empty name,
 *   `OBSERVABILITY_NOT_A_POLICY` for a source with no event method (a pipeline included).
 * @example
 * ```ts
 * logResilienceEvents(log, 'inventory', [inventoryBreaker, inventoryRetry]);
 * ```
 */
export function logResilienceEvents(
  logger: Logger,
  name: string,
  source: ResilienceSource | readonly ResilienceSource[],
): Disposer {
  if (typeof name !== 'string' || name === '')
    throw invalidOption('logResilienceEvents', 'name', 'must be a non-empty string');
  const sources = (Array.isArray(source) ? [...source] : [source]) as EventSource[];
  sources.forEach((s, i) => {
    const hasEvents =
      typeof s === 'object' && s !== null && EVENT_METHODS.some((m) => typeof s[m] === 'function');
    if (!hasEvents)
      throw new SluiceError({
        code: 'invalid_argument',
        reason: ObservabilityReasons.OBSERVABILITY_NOT_A_POLICY,
        message: `logResilienceEvents: sources[${i}] has no events (pass a pipeline's policies, not the pipeline)`,
        details: { violations: [{ field: `sources[${i}]`, message: 'needs on<Event> methods of a policy' }] },
      });
  });

  const disposers: Disposer[] = [];
  for (const s of sources) {
    const policyName = (s as { name?: unknown }).name;
    const at = { name, policy: typeof policyName === 'string' ? policyName : undefined };
    if (s.onBreak)
      disposers.push(
        s.onBreak((e) =>
          logger.warn(
            {
              event: 'circuit_opened',
              ...at,
              reason: e.reason,
              ...(e.durationMs === undefined ? {} : { duration_ms: e.durationMs }),
              ...(e.error === undefined ? {} : { err: e.error }),
            },
            `circuit breaker ${name} opened`,
          ),
        ),
      );
    if (s.onHalfOpen)
      disposers.push(
        s.onHalfOpen(() =>
          logger.info({ event: 'circuit_half_open', ...at }, `circuit breaker ${name} half-open`),
        ),
      );
    if (s.onClose)
      disposers.push(
        s.onClose(() => logger.info({ event: 'circuit_closed', ...at }, `circuit breaker ${name} closed`)),
      );
    if (s.onGiveUp)
      disposers.push(
        s.onGiveUp((e) =>
          logger.warn(
            {
              event: 'retry_gave_up',
              ...at,
              reason: e.reason,
              attempts: e.attempts,
              ...(e.error === undefined ? {} : { err: e.error }),
            },
            `retries of ${name} gave up (${e.reason})`,
          ),
        ),
      );
    if (s.onExhausted)
      disposers.push(
        s.onExhausted((e) =>
          logger.warn(
            { event: 'retry_budget_exhausted', ...at, tokens: e.tokens },
            `retry budget of ${name} exhausted`,
          ),
        ),
      );
    if (s.onRetry)
      disposers.push(
        s.onRetry((e) =>
          logger.debug(
            { event: 'retry_scheduled', ...at, attempt: e.attempt, delay_ms: e.delayMs },
            `retrying ${name}`,
          ),
        ),
      );
    if (s.onRejected)
      disposers.push(
        s.onRejected((e) =>
          logger.debug(
            { event: 'call_rejected', ...at, reason: 'reason' in e ? e.reason : `circuit_${e.state}` },
            `call to ${name} rejected`,
          ),
        ),
      );
    if (s.onTimeout)
      disposers.push(
        s.onTimeout((e) =>
          logger.debug(
            { event: 'call_timed_out', ...at, timeout_ms: e.timeoutMs },
            `call to ${name} timed out`,
          ),
        ),
      );
  }
  return () => {
    for (const dispose of disposers.splice(0)) dispose();
  };
}
