import { SluiceError } from '@sluice/errors';
import { createVirtualClock, type VirtualClock } from '@sluice/testing';
import { describe, expect, it } from 'vitest';
import { circuitBreaker } from './circuit-breaker.js';
import type { ExecutionContext } from './context.js';
import { CancelledError } from './errors.js';
import { expectInvalidOption } from './expect-invalid-option.test-support.js';
import { hedging } from './hedging.js';
import { pipeline } from './pipeline.js';

const unavailable = () => new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN' });

/** An operation whose attempts answer after the given delays (ms), recording their signals. */
function replica(clock: VirtualClock, answers: Array<{ afterMs: number; value?: string; error?: Error }>) {
  const signals: AbortSignal[] = [];
  const attempts: number[] = [];
  const fn = (ctx: ExecutionContext) => {
    const answer = answers[attempts.length] ?? { afterMs: 1e9 };
    attempts.push(ctx.attempt);
    signals.push(ctx.signal);
    return new Promise<string>((resolve, reject) => {
      clock.setTimeout(
        () => (answer.error ? reject(answer.error) : resolve(answer.value ?? 'v')),
        answer.afterMs,
      );
    });
  };
  return { fn, signals, attempts };
}

describe('hedging', () => {
  it('sends nothing more when the first attempt answers before the delay', async () => {
    const clock = createVirtualClock();
    const policy = hedging({ delayMs: 100, clock });
    const hedges: unknown[] = [];
    policy.onHedge((e) => hedges.push(e));
    const r = replica(clock, [{ afterMs: 40, value: 'first' }]);
    const call = policy.execute(r.fn);
    await clock.advance(40);
    await expect(call).resolves.toBe('first');
    await clock.runAll();
    expect(r.attempts).toEqual([1]);
    expect(hedges).toEqual([]);
    expect(r.signals[0]?.aborted).toBe(false);
  });

  it('sends a second attempt after the delay; the first success wins and the loser’s signal aborts', async () => {
    const clock = createVirtualClock();
    const policy = hedging({ delayMs: 50, clock, resolutionMs: 0 });
    const hedges: unknown[] = [];
    policy.onHedge((e) => hedges.push(e));
    const r = replica(clock, [
      { afterMs: 500, value: 'slow' },
      { afterMs: 20, value: 'hedge' },
    ]);
    const call = policy.execute(r.fn);
    await clock.advance(49);
    expect(r.attempts).toEqual([1]);
    await clock.advance(1);
    expect(r.attempts).toEqual([1, 2]);
    await clock.advance(20);
    await expect(call).resolves.toBe('hedge');
    expect(r.signals[0]?.aborted).toBe(true);
    expect(r.signals[0]?.reason).toBeInstanceOf(CancelledError);
    expect(r.signals[1]?.aborted).toBe(false);
    expect(hedges).toEqual([{ policy: 'hedging', attempt: 2, trigger: 'delay' }]);
    expect(policy.metrics()).toMatchObject({ calls: 1, hedges: 1, hedgeWins: 1, failures: 0 });
  });

  it('sends at most maxHedgedAttempts extra attempts', async () => {
    const clock = createVirtualClock();
    const policy = hedging({ delayMs: 10, maxHedgedAttempts: 2, clock });
    const r = replica(clock, [
      { afterMs: 1_000, value: 'a' },
      { afterMs: 1_000, value: 'b' },
      { afterMs: 1_000, value: 'c' },
    ]);
    const call = policy.execute(r.fn);
    await clock.advance(500);
    expect(r.attempts).toEqual([1, 2, 3]);
    await clock.advance(500);
    await expect(call).resolves.toBe('a');
    expect(r.signals.slice(1).every((s) => s.aborted)).toBe(true);
  });

  it('hedges at once when an attempt fails with a hedgeable error', async () => {
    const clock = createVirtualClock();
    const policy = hedging({ delayMs: 1_000, clock });
    const hedges: unknown[] = [];
    policy.onHedge((e) => hedges.push(e));
    const r = replica(clock, [
      { afterMs: 5, error: unavailable() },
      { afterMs: 5, value: 'second' },
    ]);
    const call = policy.execute(r.fn);
    await clock.advance(10);
    await expect(call).resolves.toBe('second');
    expect(hedges).toEqual([{ policy: 'hedging', attempt: 2, trigger: 'error' }]);
  });

  it('fails at once with an error that is not hedged, aborting the other attempts', async () => {
    const clock = createVirtualClock();
    const policy = hedging({ delayMs: 10, clock });
    const notFound = new SluiceError({ code: 'not_found', reason: 'TEST_NOT_FOUND' });
    const r = replica(clock, [
      { afterMs: 1_000, value: 'late' },
      { afterMs: 5, error: notFound },
    ]);
    const call = policy.execute(r.fn);
    call.catch(() => {});
    await clock.advance(15);
    await expect(call).rejects.toBe(notFound);
    expect(r.signals[0]?.aborted).toBe(true);
  });

  it('fails with the last error when every attempt failed', async () => {
    const clock = createVirtualClock();
    const policy = hedging({ delayMs: 10, clock });
    const last = unavailable();
    const r = replica(clock, [
      { afterMs: 30, error: unavailable() },
      { afterMs: 40, error: last },
    ]);
    const call = policy.execute(r.fn);
    call.catch(() => {});
    await clock.advance(100);
    await expect(call).rejects.toBe(last);
    expect(policy.metrics()).toMatchObject({ failures: 1, hedges: 1 });
  });

  it('sends no hedge once the caller aborted', async () => {
    const clock = createVirtualClock();
    const policy = hedging({ delayMs: 10, clock });
    const controller = new AbortController();
    const r = replica(clock, [{ afterMs: 1_000 }]);
    const call = policy.execute(r.fn, controller.signal);
    call.catch(() => {});
    controller.abort(new Error('user left'));
    expect(r.signals[0]?.aborted).toBe(true);
    await clock.advance(20);
    expect(r.attempts).toEqual([1]);
  });

  it('outcome API: an inner fast-fail counts as a failed attempt and is returned as is', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ clock });
    breaker.isolate();
    const policy = pipeline(hedging({ delayMs: 10, clock }), breaker);
    const a = await policy.executeOutcome(() => 'x');
    const b = await policy.executeOutcome(() => 'x');
    if (a.ok || b.ok) throw new Error('expected rejections');
    expect(a.error).toBe(b.error);
    expect(a.error).toMatchObject({ reason: 'RESILIENCE_CIRCUIT_ISOLATED' });
  });

  it('returns a synchronous value at once', async () => {
    const policy = hedging({ delayMs: 10, clock: createVirtualClock() });
    await expect(policy.execute(() => 7)).resolves.toBe(7);
    expect(policy.describe()).toEqual({
      kind: 'hedging',
      name: 'hedging',
      options: { delayMs: 10, maxHedgedAttempts: 1, resolutionMs: 0 },
    });
  });

  it('rejects nonsensical settings', () => {
    expectInvalidOption(() => hedging({ delayMs: -1 }), 'delayMs');
    expectInvalidOption(() => hedging({ delayMs: 10, maxHedgedAttempts: 0 }), 'maxHedgedAttempts');
    expectInvalidOption(() => hedging({ delayMs: 10, resolutionMs: 20 }), 'resolutionMs');
  });

  it('hedges on the errors a custom hedgeOn accepts', async () => {
    const clock = createVirtualClock();
    const policy = hedging({ delayMs: 1_000, hedgeOn: (e) => e instanceof TypeError, clock });
    const r = replica(clock, [
      { afterMs: 5, error: new TypeError('flaky replica') },
      { afterMs: 5, value: 'ok' },
    ]);
    const call = policy.execute(r.fn);
    await clock.advance(10);
    await expect(call).resolves.toBe('ok');
    const s = replica(clock, [{ afterMs: 5, error: unavailable() }]);
    const failing = policy.execute(s.fn);
    failing.catch(() => {});
    await clock.advance(5);
    await expect(failing).rejects.toMatchObject({ code: 'unavailable' });
    expect(s.attempts).toEqual([1]);
  });
});
