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
import { createVirtualClock, flushPromises } from '@sluice/testing';
import { describe, expect, it } from 'vitest';
import { sample } from './exposition.test-support.js';
import { bindResilienceMetrics, createMetrics, ObservabilityReasons, renderMetrics } from './index.js';

const scrape = async (metrics: ReturnType<typeof createMetrics>) => (await renderMetrics(metrics)).body;
const unavailable = () => new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN' });

describe('bindResilienceMetrics', () => {
  it("exposes a breaker's state, calls, openings and rejections as it opens, half-opens and closes", async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ name: 'cb', strategy: consecutive(2), breakDurationMs: 1_000, clock });
    const metrics = createMetrics();
    bindResilienceMetrics(metrics, 'inventory', breaker);
    const at = { name: 'inventory', policy: 'cb' };

    let text = await scrape(metrics);
    expect(sample(text, 'sluice_circuit_breaker_state', { ...at, state: 'closed' })).toBe(1);
    expect(sample(text, 'sluice_circuit_breaker_state', { ...at, state: 'open' })).toBe(0);

    await breaker.execute(() => 'ok');
    for (let i = 0; i < 2; i++) await breaker.executeOutcome(() => Promise.reject(new Error('boom')));
    for (let i = 0; i < 3; i++) await breaker.executeOutcome(() => 'never runs');
    text = await scrape(metrics);
    expect(sample(text, 'sluice_circuit_breaker_state', { ...at, state: 'open' })).toBe(1);
    expect(sample(text, 'sluice_circuit_breaker_state', { ...at, state: 'closed' })).toBe(0);
    expect(sample(text, 'sluice_circuit_breaker_calls_total', { ...at, outcome: 'success' })).toBe(1);
    expect(sample(text, 'sluice_circuit_breaker_calls_total', { ...at, outcome: 'failure' })).toBe(2);
    expect(sample(text, 'sluice_circuit_breaker_opens_total', at)).toBe(1);
    expect(
      sample(text, 'sluice_resilience_rejections_total', {
        ...at,
        kind: 'circuit-breaker',
        reason: 'circuit_open',
      }),
    ).toBe(3);

    await clock.advance(1_000);
    text = await scrape(metrics);
    expect(sample(text, 'sluice_circuit_breaker_state', { ...at, state: 'half-open' })).toBe(1);
    await breaker.execute(() => 'probe ok');
    text = await scrape(metrics);
    expect(sample(text, 'sluice_circuit_breaker_state', { ...at, state: 'closed' })).toBe(1);
    expect(sample(text, 'sluice_circuit_breaker_calls_total', { ...at, outcome: 'success' })).toBe(2);
  });

  it('exposes bulkhead slots in use and queued, and its rejections by reason', async () => {
    const clock = createVirtualClock();
    const pool = bulkhead({ name: 'pool', maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 50, clock });
    const metrics = createMetrics();
    bindResilienceMetrics(metrics, 'payment', pool);
    const at = { name: 'payment', policy: 'pool' };
    let release = () => {};
    const running = pool.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const queued = pool.executeOutcome(() => 'queued ran');
    const rejected = await pool.executeOutcome(() => 'never');
    expect(rejected.ok).toBe(false);

    let text = await scrape(metrics);
    expect(sample(text, 'sluice_bulkhead_active', at)).toBe(1);
    expect(sample(text, 'sluice_bulkhead_queued', at)).toBe(1);
    expect(sample(text, 'sluice_resilience_rejections_total', { ...at, reason: 'bulkhead_full' })).toBe(1);

    await clock.advance(50); // the queued call times out
    expect((await queued).ok).toBe(false);
    release();
    await running;
    text = await scrape(metrics);
    expect(sample(text, 'sluice_bulkhead_active', at)).toBe(0);
    expect(sample(text, 'sluice_bulkhead_queued', at)).toBe(0);
    expect(
      sample(text, 'sluice_resilience_rejections_total', { ...at, reason: 'bulkhead_queue_timeout' }),
    ).toBe(1);
  });

  it('reports every part of a pipeline: retries, budget tokens and refusals, timeouts', async () => {
    const clock = createVirtualClock();
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 2, clock });
    const resilient = pipeline(
      retry({ maxAttempts: 3, backoff: constant(10), budget, clock }),
      timeout(100, { name: 'per-try', clock }),
    );
    const metrics = createMetrics();
    bindResilienceMetrics(metrics, 'inventory', resilient);

    let text = await scrape(metrics);
    expect(sample(text, 'sluice_retry_budget_tokens', { name: 'inventory', policy: 'retry' })).toBe(2);
    expect(sample(text, 'sluice_retry_retries_total', { name: 'inventory', policy: 'retry' })).toBe(0);

    // Attempt 1 times out (virtual 100 ms), 2 and 3 fail fast: two retries, then the budget is spent.
    let attempt = 0;
    const first = resilient.executeOutcome(() => {
      attempt++;
      return attempt === 1 ? new Promise<never>(() => {}) : Promise.reject(unavailable());
    });
    await clock.advance(100);
    await clock.advance(10);
    await clock.advance(10);
    expect((await first).ok).toBe(false);
    // Less than one token is left, so the budget refuses the next call's retry.
    expect((await resilient.executeOutcome(() => Promise.reject(unavailable()))).ok).toBe(false);

    text = await scrape(metrics);
    expect(sample(text, 'sluice_retry_retries_total', { name: 'inventory', policy: 'retry' })).toBe(2);
    // 120 virtual ms refilled 0.24 of the 2/s floor; two retries took whole tokens: less than one is left.
    expect(sample(text, 'sluice_retry_budget_tokens', { name: 'inventory', policy: 'retry' })).toBeLessThan(
      1,
    );
    expect(sample(text, 'sluice_timeouts_total', { name: 'inventory', policy: 'per-try' })).toBe(1);
    expect(
      sample(text, 'sluice_resilience_rejections_total', {
        name: 'inventory',
        kind: 'retry',
        reason: 'retry_budget_exhausted',
      }),
    ).toBe(1);
  });

  it('reports a list of policies and a retry budget bound on its own; the disposer removes a binding', async () => {
    const budget = retryBudget({ minRetriesPerSecond: 0, clock: createVirtualClock() });
    const metrics = createMetrics();
    const disposeA = bindResilienceMetrics(metrics, 'a', [circuitBreaker(), budget]);
    bindResilienceMetrics(metrics, 'b', circuitBreaker({ name: 'b-breaker' }));
    expect(budget.tryWithdraw()).toBe(false);
    let text = await scrape(metrics);
    expect(
      sample(text, 'sluice_circuit_breaker_state', { name: 'a', policy: 'circuit-breaker', state: 'closed' }),
    ).toBe(1);
    expect(sample(text, 'sluice_retry_budget_tokens', { name: 'a', policy: 'retry-budget' })).toBe(0);
    expect(
      sample(text, 'sluice_resilience_rejections_total', {
        name: 'a',
        kind: 'retry-budget',
        reason: 'retry_budget_exhausted',
      }),
    ).toBe(1);
    disposeA();
    disposeA(); // harmless twice
    text = await scrape(metrics);
    expect(sample(text, 'sluice_circuit_breaker_state', { name: 'a' })).toBeUndefined();
    expect(
      sample(text, 'sluice_circuit_breaker_state', { name: 'b', policy: 'b-breaker', state: 'closed' }),
    ).toBe(1);
  });

  it('adds nothing to the call path: calls before binding are counted', async () => {
    const breaker = circuitBreaker();
    for (let i = 0; i < 5; i++) await breaker.execute(() => i);
    const metrics = createMetrics();
    bindResilienceMetrics(metrics, 'late', breaker);
    expect(
      sample(await scrape(metrics), 'sluice_circuit_breaker_calls_total', {
        name: 'late',
        outcome: 'success',
      }),
    ).toBe(5);
  });

  it('rejects a non-policy or an empty name with invalid_argument and binds nothing', async () => {
    const metrics = createMetrics();
    const cases: [() => unknown, string][] = [
      [
        () => bindResilienceMetrics(metrics, '', circuitBreaker()),
        ObservabilityReasons.OBSERVABILITY_INVALID_OPTION,
      ],
      [
        () => bindResilienceMetrics(metrics, 'x', {} as never),
        ObservabilityReasons.OBSERVABILITY_NOT_A_POLICY,
      ],
      [
        () => bindResilienceMetrics(metrics, 'x', [circuitBreaker(), { metrics: () => 42 } as never]),
        ObservabilityReasons.OBSERVABILITY_NOT_A_POLICY,
      ],
      [
        () => bindResilienceMetrics(metrics, 'x', null as never),
        ObservabilityReasons.OBSERVABILITY_NOT_A_POLICY,
      ],
    ];
    for (const [fn, reason] of cases) {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(isSluiceError(error) && `${error.code}/${error.reason}`).toBe(`invalid_argument/${reason}`);
    }
    await flushPromises();
    expect(sample(await scrape(metrics), 'sluice_circuit_breaker_state', { name: 'x' })).toBeUndefined();
  });
});
