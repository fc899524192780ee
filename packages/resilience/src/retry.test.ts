import { SluiceError } from '@sluice/errors';
import { createVirtualClock } from '@sluice/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constant, exponential } from './backoff.js';
import { Deadline } from './deadline.js';
import { CancelledError } from './errors.js';
import { expectInvalidOption } from './expect-invalid-option.test-support.js';
import { retry } from './retry.js';
import { retryBudget } from './retry-budget.js';

const unavailable = (retryAfterMs?: number) =>
  new SluiceError({
    code: 'unavailable',
    reason: 'TEST_DOWN',
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });

/** An operation failing `failures` times with `error()`, then returning 'ok'; records attempts. */
function flaky(failures: number, error: () => unknown = () => unavailable()) {
  const attempts: number[] = [];
  const fn = ({ attempt }: { attempt: number }) => {
    attempts.push(attempt);
    if (attempts.length <= failures) throw error();
    return 'ok';
  };
  return { fn, attempts };
}

describe('retry', () => {
  it('retries retryable errors and numbers the attempts from 1', async () => {
    const clock = createVirtualClock();
    const { fn, attempts } = flaky(2);
    const call = retry({ maxAttempts: 3, backoff: constant(100), clock }).execute(fn);
    await clock.advance(200);
    await expect(call).resolves.toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('counts maxAttempts as total attempts, the first call included', async () => {
    const clock = createVirtualClock();
    const { fn, attempts } = flaky(10);
    const policy = retry({ maxAttempts: 3, backoff: constant(10), clock });
    const reasons: string[] = [];
    policy.onGiveUp((e) => reasons.push(`${e.reason}/${e.attempts}`));
    const call = policy.execute(fn);
    call.catch(() => {});
    await clock.advance(100);
    await expect(call).rejects.toMatchObject({ reason: 'TEST_DOWN' });
    expect(attempts).toHaveLength(3);
    expect(reasons).toEqual(['max-attempts/3']);
    expect(policy.metrics()).toMatchObject({ calls: 1, retries: 2, failures: 1, successes: 0 });
  });

  it('does not retry errors that are not retryable (by default: anything but a retryable SluiceError)', async () => {
    const policy = retry({ maxAttempts: 5, backoff: constant(0), clock: createVirtualClock() });
    const plain = flaky(1, () => new Error('bug'));
    await expect(policy.execute(plain.fn)).rejects.toThrow('bug');
    expect(plain.attempts).toEqual([1]);
    const final = flaky(1, () => new SluiceError({ code: 'not_found', reason: 'X_Y' }));
    await expect(policy.execute(final.fn)).rejects.toMatchObject({ code: 'not_found' });
    expect(final.attempts).toEqual([1]);
    const overridden = flaky(1, () => new SluiceError({ code: 'internal', reason: 'X_Y', retryable: true }));
    await expect(policy.execute(overridden.fn)).resolves.toBe('ok');
  });

  it('retries what a custom retryOn accepts', async () => {
    const policy = retry({ maxAttempts: 2, backoff: constant(0), retryOn: (e) => e instanceof TypeError });
    await expect(policy.execute(flaky(1, () => new TypeError('t')).fn)).resolves.toBe('ok');
    await expect(policy.execute(flaky(1, () => new RangeError('r')).fn)).rejects.toThrow('r');
  });

  it('retries results that retryOnResult accepts and returns the last one when attempts run out', async () => {
    const clock = createVirtualClock();
    const results = [503, 503, 200];
    const policy = retry({
      maxAttempts: 3,
      backoff: constant(5),
      retryOnResult: (status) => status === 503,
      clock,
    });
    const call = policy.execute(() => results.shift());
    await clock.advance(10);
    await expect(call).resolves.toBe(200);
    const always = policy.execute(() => 503);
    await clock.advance(10);
    await expect(always).resolves.toBe(503);
  });

  it("waits the server's retryAfterMs instead of the backoff", async () => {
    const clock = createVirtualClock();
    const { fn, attempts } = flaky(1, () => unavailable(750));
    const policy = retry({ backoff: constant(10), clock });
    const delays: number[] = [];
    policy.onRetry((e) => delays.push(e.delayMs));
    const call = policy.execute(fn);
    await clock.advance(749);
    expect(attempts).toHaveLength(1);
    await clock.advance(1);
    await expect(call).resolves.toBe('ok');
    expect(delays).toEqual([750]);
  });

  it('gives up at once when the server asks to wait longer than maxRetryAfterMs', async () => {
    const policy = retry({ maxRetryAfterMs: 1_000, clock: createVirtualClock() });
    const reasons: string[] = [];
    policy.onGiveUp((e) => reasons.push(e.reason));
    await expect(policy.execute(flaky(1, () => unavailable(5_000)).fn)).rejects.toMatchObject({
      retryAfterMs: 5_000,
    });
    expect(reasons).toEqual(['retry-after-too-long']);
  });

  it('ends the backoff sleep at once when the signal aborts, and makes no further attempt', async () => {
    const clock = createVirtualClock();
    const { fn, attempts } = flaky(5);
    const policy = retry({ maxAttempts: 5, backoff: constant(60_000), clock });
    const reasons: string[] = [];
    policy.onGiveUp((e) => reasons.push(e.reason));
    const caller = new AbortController();
    const call = policy.execute(fn, caller.signal);
    call.catch(() => {});
    await clock.advance(1);
    caller.abort();
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CancelledError);
    expect(error).toMatchObject({ code: 'cancelled', reason: 'RESILIENCE_CANCELLED' });
    expect(attempts).toEqual([1]);
    expect(reasons).toEqual(['aborted']);
    expect(clock.pending).toBe(0);
  });

  it('does not start when the signal is already aborted', async () => {
    const caller = new AbortController();
    caller.abort();
    const { fn, attempts } = flaky(0);
    await expect(retry().execute(fn, caller.signal)).rejects.toBeInstanceOf(CancelledError);
    expect(attempts).toEqual([]);
  });

  it('gives up when the next delay would outlast the deadline', async () => {
    const clock = createVirtualClock();
    const policy = retry({ maxAttempts: 5, backoff: constant(100), clock });
    const reasons: string[] = [];
    policy.onGiveUp((e) => reasons.push(e.reason));
    const { fn, attempts } = flaky(5);
    const call = policy.execute(fn, { deadline: Deadline.after(250, clock) });
    call.catch(() => {});
    await clock.advance(300);
    await expect(call).rejects.toMatchObject({ reason: 'TEST_DOWN' });
    expect(attempts).toEqual([1, 2, 3]);
    expect(reasons).toEqual(['deadline']);
  });

  it('uses the exponential backoff delays in order', async () => {
    const clock = createVirtualClock();
    const policy = retry({
      maxAttempts: 5,
      backoff: exponential({ baseMs: 100, multiplier: 2, maxMs: 300, jitter: 'none' }),
      clock,
    });
    const delays: number[] = [];
    policy.onRetry((e) => delays.push(e.delayMs));
    const call = policy.execute(flaky(4).fn);
    await clock.advance(10_000);
    await expect(call).resolves.toBe('ok');
    expect(delays).toEqual([100, 200, 300, 300]);
  });
});

describe('retryBudget', () => {
  it('returns the original error at once when the budget is empty, and says why', async () => {
    const clock = createVirtualClock();
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 1, clock });
    const policy = retry({ maxAttempts: 3, backoff: constant(0), budget, clock });
    const exhausted: unknown[] = [];
    budget.onExhausted((e) => exhausted.push(e));
    const reasons: string[] = [];
    policy.onGiveUp((e) => reasons.push(e.reason));
    const first = flaky(10);
    await expect(policy.execute(first.fn)).rejects.toMatchObject({ reason: 'TEST_DOWN' });
    // One token (the per-second floor) paid one retry; the second retry was refused.
    expect(first.attempts).toEqual([1, 2]);
    expect(reasons).toEqual(['budget-exhausted']);
    expect(exhausted).toHaveLength(1);
    expect(policy.metrics().budgetRejections).toBe(1);
  });

  it('refills the per-second floor over time', async () => {
    const clock = createVirtualClock();
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 2, clock });
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    await clock.advance(500);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    await clock.advance(10_000);
    expect(budget.tokens).toBe(2); // at most one second's worth is kept
  });

  it('lets retries add at most `ratio` of the calls', () => {
    const budget = retryBudget({ ratio: 0.2, minRetriesPerSecond: 0, clock: createVirtualClock() });
    let paid = 0;
    for (let i = 0; i < 1_000; i++) {
      budget.deposit();
      if (budget.tryWithdraw()) paid++;
    }
    expect(paid).toBe(200);
    expect(budget.metrics()).toMatchObject({ deposits: 1_000, withdrawals: 200, rejections: 800 });
  });

  it('banks at most maxTokens', () => {
    const budget = retryBudget({
      ratio: 1,
      minRetriesPerSecond: 0,
      maxTokens: 3,
      clock: createVirtualClock(),
    });
    for (let i = 0; i < 10; i++) budget.deposit();
    expect(budget.tokens).toBe(3);
  });
});

describe('backoff', () => {
  it('keeps decorrelated jitter within [baseMs, maxMs]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 30,
        }),
        (baseMs, extra, randoms) => {
          const maxMs = baseMs + extra;
          let i = 0;
          const backoff = exponential({
            baseMs,
            maxMs,
            jitter: 'decorrelated',
            random: () => randoms[i++] ?? 0,
          });
          let previous: number | undefined;
          for (let retry = 1; retry <= randoms.length; retry++) {
            const d = backoff.delayMs(retry, previous);
            if (d < baseMs || d > maxMs) return false;
            previous = d;
          }
          return true;
        },
      ),
    );
  });

  it('keeps full jitter within [0, min(base·mult^(n-1), max))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (baseMs, retry, r) => {
          const maxMs = baseMs * 50;
          const d = exponential({ baseMs, maxMs, jitter: 'full', random: () => r }).delayMs(retry, undefined);
          return d >= 0 && d <= Math.min(maxMs, baseMs * 2 ** (retry - 1));
        },
      ),
    );
  });

  it('rejects nonsensical settings', () => {
    expectInvalidOption(() => exponential({ baseMs: 100, maxMs: 50 }), 'maxMs');
    expectInvalidOption(() => exponential({ multiplier: 0.5 }), 'multiplier');
    expectInvalidOption(() => constant(-1), 'ms');
    expectInvalidOption(() => retry({ maxAttempts: 0 }), 'maxAttempts');
  });
});
