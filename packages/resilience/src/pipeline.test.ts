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
import { timeout } from './timeout.js';

const down = () => {
  throw new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN' });
};

describe('pipeline', () => {
  it('retry inside the breaker: the breaker counts every attempt', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(3), clock });
    const policy = pipeline(breaker, retry({ maxAttempts: 3, backoff: constant(0), clock }));
    // Wait: the retry is INSIDE here, so the breaker sees one outcome per call.
    await policy.execute(down).catch(() => {});
    expect(breaker.metrics()).toMatchObject({ calls: 1, failures: 1 });
    expect(breaker.state).toBe('closed');
  });

  it('breaker inside the retry: each attempt passes through the breaker and counts', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(3), clock });
    const policy = pipeline(retry({ maxAttempts: 3, backoff: constant(0), clock }), breaker);
    await policy.execute(down).catch(() => {});
    expect(breaker.metrics()).toMatchObject({ calls: 3, failures: 3 });
    expect(breaker.state).toBe('open');
    // Once open, the retry sees CircuitOpenError (retryable, with retryAfterMs) and gives up
    // because the break (10 s) is longer than nothing... here it waits it out within maxRetryAfterMs.
    const call = policy.execute(() => 'recovered');
    await clock.advance(10_000);
    await expect(call).resolves.toBe('recovered');
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
});
