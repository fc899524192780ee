import { SluiceError } from '@sluice/errors';
import { createVirtualClock } from '@sluice/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { constant } from './backoff.js';
import { consecutive } from './breaker-strategy.js';
import { bulkhead } from './bulkhead.js';
import { circuitBreaker } from './circuit-breaker.js';
import { CircuitOpenError, TimeoutError } from './errors.js';
import { expectInvalidOption } from './expect-invalid-option.test-support.js';
import { pipeline, wrap } from './pipeline.js';
import { retry } from './retry.js';
import { retryBudget } from './retry-budget.js';
import { timeout } from './timeout.js';

const down = () => {
  throw new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN' });
};

describe('pipeline', () => {
  it('retry inside the breaker (breaker outermost): the breaker sees each call once', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(3), clock });
    const attempts: number[] = [];
    const policy = pipeline(breaker, retry({ maxAttempts: 3, backoff: constant(0), clock }));
    await policy
      .execute((ctx) => {
        attempts.push(ctx.attempt);
        return down();
      })
      .catch(() => {});
    expect(attempts).toEqual([1, 2, 3]); // three attempts ran…
    expect(breaker.metrics()).toMatchObject({ calls: 1, failures: 1 }); // …the breaker counted one failed call
    expect(breaker.state).toBe('closed');
  });

  it('breaker inside the retry (retry outermost): the breaker counts every attempt', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(3), clock });
    const policy = pipeline(retry({ maxAttempts: 3, backoff: constant(0), clock }), breaker);
    await policy.execute(down).catch(() => {});
    expect(breaker.metrics()).toMatchObject({ calls: 3, failures: 3 });
    expect(breaker.state).toBe('open');
    // Once open, the retry gets CircuitOpenError (retryable, retryAfterMs = the 10 s break, within
    // maxRetryAfterMs): it waits the break out and its next attempt is the half-open probe.
    const call = policy.execute(() => 'recovered');
    await clock.advance(10_000);
    await expect(call).resolves.toBe('recovered');
    expect(breaker.state).toBe('closed');
  });

  it('outcome API through a pipeline: an open breaker inside yields its one frozen error, no new Error', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ clock });
    breaker.isolate();
    const retrying = retry({ maxAttempts: 3, backoff: constant(0), clock, retryOn: () => true });
    const policy = pipeline(bulkhead({ maxConcurrent: 2 }), retrying, breaker, timeout(1_000, { clock }));
    const a = await policy.executeOutcome(() => 1);
    const b = await policy.executeOutcome(() => 1);
    if (a.ok || b.ok) throw new Error('expected rejections');
    expect(a.error).toBe(b.error);
    expect(Object.isFrozen(a.error)).toBe(true);
    expect(a.error).toBeInstanceOf(CircuitOpenError);
    // The retry saw each rejection as a failure and retried it.
    expect(retrying.metrics()).toMatchObject({ calls: 2, retries: 4, failures: 2 });
    expect(breaker.metrics().rejections).toBe(6);
    // The throwing API gets a fresh error each time.
    const e1 = await policy.execute(() => 1).catch((e: unknown) => e);
    const e2 = await policy.execute(() => 1).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(CircuitOpenError);
    expect(e1).not.toBe(e2);
  });

  it('timeout inside retry bounds each attempt; outside, the whole call', async () => {
    const clock = createVirtualClock();
    const never = () => new Promise<never>(() => {});
    const perAttempt = pipeline(
      retry({ maxAttempts: 3, backoff: constant(0), clock }),
      timeout(100, { clock, resolutionMs: 0 }),
    );
    const attempts: number[] = [];
    const a = perAttempt.execute((ctx) => {
      attempts.push(ctx.attempt);
      return never();
    });
    a.catch(() => {});
    await clock.advance(300);
    await expect(a).rejects.toBeInstanceOf(TimeoutError);
    expect(attempts).toEqual([1, 2, 3]);

    const whole = pipeline(
      timeout(100, { clock, resolutionMs: 0 }),
      retry({ maxAttempts: 3, backoff: constant(0), clock }),
    );
    const seen: number[] = [];
    const b = whole.execute((ctx) => {
      seen.push(ctx.attempt);
      return never();
    });
    b.catch(() => {});
    await clock.advance(300);
    await expect(b).rejects.toBeInstanceOf(TimeoutError);
    expect(seen).toEqual([1]);
  });

  it('describes its policies outermost first and flattens nested pipelines', () => {
    const inner = pipeline(retry(), timeout(1_000));
    const outer = wrap(bulkhead({ maxConcurrent: 1 }), circuitBreaker(), inner);
    expect(outer.describe().policies?.map((p) => p.kind)).toEqual([
      'bulkhead',
      'circuit-breaker',
      'retry',
      'timeout',
    ]);
    expect(outer.metrics().policies).toHaveLength(4);
  });

  it('keeps the operation’s type', async () => {
    const policy = pipeline(retry(), timeout(1_000));
    const value = policy.execute(() => ({ id: 'o-1' }));
    expectTypeOf(value).toEqualTypeOf<Promise<{ id: string }>>();
    await expect(value).resolves.toEqual({ id: 'o-1' });
  });

  it('shares one breaker between pipelines (one per downstream, not per request)', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(1), clock });
    const a = pipeline(breaker, timeout(1_000, { clock }));
    const b = pipeline(bulkhead({ maxConcurrent: 5 }), breaker);
    await a.execute(down).catch(() => {});
    await expect(b.execute(() => 1)).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('refuses policies that are not from this package', () => {
    const foreign = { execute: async () => 1, executeOutcome: async () => ({ ok: true, value: 1 }) };
    // @ts-expect-error: not a Policy (no describe/metrics)
    expectInvalidOption(() => pipeline(foreign), 'policies');
  });

  it('every policy describes its effective options (defaults filled in)', () => {
    const budget = retryBudget();
    expect(
      pipeline(
        bulkhead({ maxConcurrent: 4, maxQueued: 8, queueTimeoutMs: 100 }),
        retry({ budget, backoff: constant(5) }),
        timeout(250, { strategy: 'cooperative', name: 'op' }),
      ).describe(),
    ).toEqual({
      kind: 'pipeline',
      name: 'pipeline',
      policies: [
        {
          kind: 'bulkhead',
          name: 'bulkhead',
          options: { maxConcurrent: 4, maxQueued: 8, queueTimeoutMs: 100 },
        },
        {
          kind: 'retry',
          name: 'retry',
          options: {
            maxAttempts: 3,
            backoff: { type: 'constant', ms: 5 },
            maxRetryAfterMs: 30_000,
            retryOnResult: false,
            budget: { name: 'retry-budget', ratio: 0.2, minRetriesPerSecond: 10, maxTokens: 100 },
          },
        },
        { kind: 'timeout', name: 'op', options: { ms: 250, strategy: 'cooperative', resolutionMs: 0 } },
      ],
    });
  });
});
