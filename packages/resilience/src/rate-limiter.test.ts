import { createVirtualClock } from '@sluice/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constant } from './backoff.js';
import { RateLimitedError } from './errors.js';
import { expectInvalidOption } from './expect-invalid-option.test-support.js';
import { pipeline } from './pipeline.js';
import { rateLimiter } from './rate-limiter.js';
import { retry } from './retry.js';

const op = () => 'ok';

describe('rateLimiter', () => {
  it('admits a burst, then rejects at once with the time until the next token', async () => {
    const clock = createVirtualClock();
    const limiter = rateLimiter({ ratePerSecond: 10, burst: 3, clock });
    for (let i = 0; i < 3; i++) await expect(limiter.execute(op)).resolves.toBe('ok');
    let ran = false;
    const error = await limiter
      .execute(() => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({
      code: 'resource_exhausted',
      reason: 'RESILIENCE_RATE_LIMITED',
      retryAfterMs: 100,
      limiter: 'rate-limiter',
    });
    await clock.advance(40);
    await expect(limiter.execute(op)).rejects.toMatchObject({ retryAfterMs: 60 });
    await clock.advance(60);
    await expect(limiter.execute(op)).resolves.toBe('ok');
    expect(limiter.metrics()).toMatchObject({ kind: 'rate-limiter', admitted: 4, rejected: 2 });
  });

  it('refills at ratePerSecond and never holds more than burst', async () => {
    const clock = createVirtualClock();
    const limiter = rateLimiter({ ratePerSecond: 100, burst: 5, initialTokens: 0, clock });
    expect(limiter.tokens).toBe(0);
    await clock.advance(30);
    expect(limiter.tokens).toBeCloseTo(3);
    await clock.advance(60_000);
    expect(limiter.tokens).toBe(5);
    let admitted = 0;
    for (let i = 0; i < 20; i++) if ((await limiter.executeOutcome(op)).ok) admitted++;
    expect(admitted).toBe(5);
  });

  it('holds the long-run rate: over 10 s at 50/s, about 500 calls pass', async () => {
    const clock = createVirtualClock();
    const limiter = rateLimiter({ ratePerSecond: 50, burst: 10, clock });
    let admitted = 0;
    for (let t = 0; t < 10_000; t += 5) {
      for (let i = 0; i < 3; i++) if ((await limiter.executeOutcome(op)).ok) admitted++;
      await clock.advance(5);
    }
    expect(admitted).toBeGreaterThanOrEqual(500);
    expect(admitted).toBeLessThanOrEqual(510); // the rate plus the initial burst
  });

  it('outcome API: one shared frozen error whose retryAfterMs is live', async () => {
    const clock = createVirtualClock();
    const limiter = rateLimiter({ ratePerSecond: 1, burst: 1, clock });
    await limiter.executeOutcome(op);
    const a = await limiter.executeOutcome(op);
    await clock.advance(250);
    const b = await limiter.executeOutcome(op);
    if (a.ok || b.ok) throw new Error('expected rejections');
    expect(a.error).toBe(b.error);
    expect(Object.isFrozen(a.error)).toBe(true);
    expect((b.error as RateLimitedError).retryAfterMs).toBe(750);
  });

  it('a retry outside waits the retryAfterMs the limiter gives', async () => {
    const clock = createVirtualClock();
    const limiter = rateLimiter({ ratePerSecond: 2, burst: 1, clock });
    const policy = pipeline(retry({ maxAttempts: 2, backoff: constant(0), clock }), limiter);
    await policy.execute(op);
    const call = policy.execute(op);
    await clock.advance(499);
    let done = false;
    void call.then(() => {
      done = true;
    });
    await clock.advance(0);
    expect(done).toBe(false);
    await clock.advance(1);
    await expect(call).resolves.toBe('ok');
  });

  it('emits onRejected until disposed, and describes itself', async () => {
    const limiter = rateLimiter({ ratePerSecond: 1, burst: 1, clock: createVirtualClock(), name: 'partner' });
    const events: unknown[] = [];
    const dispose = limiter.onRejected((e) => events.push(e));
    await limiter.executeOutcome(op);
    await limiter.executeOutcome(op);
    dispose();
    await limiter.executeOutcome(op);
    expect(events).toEqual([{ limiter: 'partner', retryAfterMs: 1_000 }]);
    expect(limiter.describe()).toEqual({
      kind: 'rate-limiter',
      name: 'partner',
      options: { ratePerSecond: 1, burst: 1 },
    });
  });

  it('rejects nonsensical settings', () => {
    expectInvalidOption(() => rateLimiter({ ratePerSecond: 0 }), 'ratePerSecond');
    expectInvalidOption(() => rateLimiter({ ratePerSecond: 5, burst: 0.5 }), 'burst');
    expectInvalidOption(() => rateLimiter({ ratePerSecond: 5, burst: 2, initialTokens: 3 }), 'initialTokens');
  });

  it('never admits more than burst + rate × elapsed, and a rejection’s retryAfterMs is honest (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(
          fc.record({ calls: fc.integer({ min: 0, max: 30 }), advanceMs: fc.integer({ min: 0, max: 500 }) }),
          {
            maxLength: 25,
          },
        ),
        async (rate, burst, plan) => {
          const clock = createVirtualClock();
          const limiter = rateLimiter({ ratePerSecond: rate, burst, clock });
          let admitted = 0;
          for (const step of plan) {
            for (let i = 0; i < step.calls; i++) {
              const outcome = await limiter.executeOutcome(op);
              if (outcome.ok) admitted++;
              else {
                const wait = (outcome.error as RateLimitedError).retryAfterMs ?? 0;
                expect(wait).toBeGreaterThan(0);
                expect(wait).toBeLessThanOrEqual(Math.ceil(1_000 / rate));
              }
            }
            await clock.advance(step.advanceMs);
          }
          expect(admitted).toBeLessThanOrEqual(burst + (rate * clock.now()) / 1_000 + 1e-9);
          // After waiting what a rejection said, a call passes.
          const rejected = await limiter.executeOutcome(op);
          if (!rejected.ok) {
            await clock.advance((rejected.error as RateLimitedError).retryAfterMs ?? 0);
            expect((await limiter.executeOutcome(op)).ok).toBe(true);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
