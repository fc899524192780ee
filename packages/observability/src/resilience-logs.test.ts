import { isSluiceError, SluiceError } from '@sluice/errors';
import {
  bulkhead,
  circuitBreaker,
  consecutive,
  constant,
  pipeline,
  retry,
  retryBudget,
  timeout,
} from '@sluice/resilience';
import { createVirtualClock } from '@sluice/testing';
import { describe, expect, it } from 'vitest';
import { captureLines } from './capture.test-support.js';
import { createLogger, logResilienceEvents, ObservabilityReasons } from './index.js';

const unavailable = () => new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN', message: 'down' });

describe('logResilienceEvents', () => {
  it('logs a breaker opening (warn, with the error), half-opening and closing (info)', async () => {
    const clock = createVirtualClock();
    const out = captureLines();
    const log = createLogger({ service: 'order', destination: out.stream });
    const breaker = circuitBreaker({
      name: 'inventory-cb',
      strategy: consecutive(1),
      breakDurationMs: 500,
      clock,
    });
    logResilienceEvents(log, 'inventory', breaker);
    await breaker.executeOutcome(() => Promise.reject(unavailable()));
    await clock.advance(500);
    await breaker.execute(() => 'probe');
    expect(out.lines.map((l) => [l.level, l.event])).toEqual([
      ['warn', 'circuit_opened'],
      ['info', 'circuit_half_open'],
      ['info', 'circuit_closed'],
    ]);
    expect(out.lines[0]).toMatchObject({
      name: 'inventory',
      policy: 'inventory-cb',
      duration_ms: 500,
      err: { code: 'unavailable', reason: 'TEST_DOWN' },
      msg: 'circuit breaker inventory opened',
    });
  });

  it('logs retries at debug, a give-up and an exhausted budget at warn; the disposer stops it', async () => {
    const clock = createVirtualClock();
    const out = captureLines();
    const log = createLogger({ service: 'order', level: 'debug', destination: out.stream });
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 1, clock });
    const policy = retry({ name: 'inventory-retry', maxAttempts: 3, backoff: constant(10), budget, clock });
    const dispose = logResilienceEvents(log, 'inventory', [policy, budget]);
    const call = policy.executeOutcome(() => Promise.reject(unavailable()));
    await clock.advance(10);
    expect((await call).ok).toBe(false);
    expect(out.lines.map((l) => [l.level, l.event])).toEqual([
      ['debug', 'retry_scheduled'],
      ['warn', 'retry_budget_exhausted'],
      ['warn', 'retry_gave_up'],
    ]);
    expect(out.lines[0]).toMatchObject({ attempt: 1, delay_ms: 10, policy: 'inventory-retry' });
    expect(out.lines[2]).toMatchObject({
      reason: 'budget-exhausted',
      attempts: 2,
      err: { reason: 'TEST_DOWN' },
    });
    dispose();
    dispose();
    await policy.executeOutcome(() => Promise.reject(unavailable()));
    expect(out.lines).toHaveLength(3);
  });

  it('logs bulkhead rejections and timeouts at debug only', async () => {
    const clock = createVirtualClock();
    const out = captureLines();
    const pool = bulkhead({ maxConcurrent: 1, clock });
    const limit = timeout(5, { clock });
    logResilienceEvents(createLogger({ service: 'x', destination: out.stream }), 'quiet', [pool, limit]);
    const debug = captureLines();
    logResilienceEvents(createLogger({ service: 'x', level: 'debug', destination: debug.stream }), 'loud', [
      pool,
      limit,
    ]);
    let release = () => {};
    const held = pool.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await pool.executeOutcome(() => 'rejected');
    const slow = limit.executeOutcome(() => new Promise(() => {}));
    await clock.advance(5);
    await slow;
    release();
    await held;
    expect(out.lines).toEqual([]);
    expect(debug.lines.map((l) => [l.event, l.reason ?? l.timeout_ms])).toEqual([
      ['call_rejected', 'full'],
      ['call_timed_out', 5],
    ]);
  });

  it('refuses a pipeline (it has no events) or an empty name', () => {
    const log = createLogger({ service: 'x', level: 'silent' });
    const cases: [() => unknown, string][] = [
      [
        () => logResilienceEvents(log, 'p', pipeline(circuitBreaker(), retry())),
        ObservabilityReasons.OBSERVABILITY_NOT_A_POLICY,
      ],
      [
        () => logResilienceEvents(log, 'p', [circuitBreaker(), {} as never]),
        ObservabilityReasons.OBSERVABILITY_NOT_A_POLICY,
      ],
      [
        () => logResilienceEvents(log, '', circuitBreaker()),
        ObservabilityReasons.OBSERVABILITY_INVALID_OPTION,
      ],
    ];
    for (const [fn, reason] of cases) {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(isSluiceError(error) && error.reason).toBe(reason);
    }
  });
});
