import { SluiceError } from '@sluice/errors';
import { createVirtualClock } from '@sluice/testing';
import { describe, expect, it } from 'vitest';
import { exponential } from './backoff.js';
import { consecutive, countWindow, timeWindow } from './breaker-strategy.js';
import { circuitBreaker } from './circuit-breaker.js';
import { CircuitOpenError } from './errors.js';
import { expectInvalidOption } from './expect-invalid-option.test-support.js';

const down = () => {
  throw new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN' });
};
const up = () => 'up';

/** Runs `fn` and returns 'ok', 'fail' or 'rejected' (CircuitOpenError). */
async function attempt(breaker: ReturnType<typeof circuitBreaker>, fn: () => unknown): Promise<string> {
  try {
    await breaker.execute(fn);
    return 'ok';
  } catch (e) {
    return e instanceof CircuitOpenError ? 'rejected' : 'fail';
  }
}

describe('circuitBreaker', () => {
  it('opens after N consecutive failures and fails fast with the time until the next probe', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(3), breakDurationMs: 1_000, clock });
    expect(await attempt(breaker, down)).toBe('fail');
    expect(await attempt(breaker, up)).toBe('ok'); // a success resets the count
    for (let i = 0; i < 3; i++) expect(await attempt(breaker, down)).toBe('fail');
    expect(breaker.state).toBe('open');
    await clock.advance(400);
    let ran = false;
    const error = await breaker
      .execute(() => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(error).toMatchObject({
      code: 'unavailable',
      reason: 'RESILIENCE_CIRCUIT_OPEN',
      retryAfterMs: 600,
      breaker: 'circuit-breaker',
    });
  });

  it('half-open admits exactly maxProbes concurrent probes and rejects the rest', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({
      strategy: consecutive(1),
      breakDurationMs: 100,
      halfOpen: { maxProbes: 2, successThreshold: 2 },
      clock,
    });
    await attempt(breaker, down);
    await clock.advance(100);
    expect(breaker.state).toBe('half-open');
    const releases: Array<() => void> = [];
    let started = 0;
    const probe = () =>
      breaker.execute(
        () =>
          new Promise<string>((resolve) => {
            started++;
            releases.push(() => resolve('probe ok'));
          }),
      );
    const p1 = probe();
    const p2 = probe();
    const p3 = probe();
    await expect(p3).rejects.toMatchObject({ reason: 'RESILIENCE_CIRCUIT_OPEN' });
    expect(started).toBe(2);
    expect(breaker.metrics().probesInFlight).toBe(2);
    for (const release of releases) release();
    await expect(Promise.all([p1, p2])).resolves.toEqual(['probe ok', 'probe ok']);
    expect(breaker.state).toBe('closed');
  });

  it('needs successThreshold probe successes to close', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({
      strategy: consecutive(1),
      breakDurationMs: 100,
      halfOpen: { successThreshold: 3 },
      clock,
    });
    await attempt(breaker, down);
    await clock.advance(100);
    expect(await attempt(breaker, up)).toBe('ok');
    expect(await attempt(breaker, up)).toBe('ok');
    expect(breaker.state).toBe('half-open');
    expect(await attempt(breaker, up)).toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('re-opens on any failure in half-open, for a break that may grow', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({
      strategy: consecutive(1),
      breakBackoff: exponential({ baseMs: 100, multiplier: 2, maxMs: 1_000, jitter: 'none' }),
      halfOpen: { successThreshold: 2 },
      clock,
    });
    const breaks: number[] = [];
    breaker.onBreak((e) => breaks.push(e.durationMs ?? -1));
    await attempt(breaker, down);
    await clock.advance(100);
    expect(await attempt(breaker, up)).toBe('ok');
    expect(await attempt(breaker, down)).toBe('fail');
    expect(breaker.state).toBe('open');
    await clock.advance(100);
    expect(breaker.state).toBe('open'); // the second break lasts 200 ms
    await clock.advance(100);
    expect(await attempt(breaker, down)).toBe('fail');
    await clock.advance(400);
    expect(await attempt(breaker, up)).toBe('ok');
    expect(await attempt(breaker, up)).toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(breaks).toEqual([100, 200, 400]);
    // Closing resets the growth.
    await attempt(breaker, down);
    expect(breaks.at(-1)).toBe(100);
  });

  it('counts only the failures isFailure accepts (by default not the caller’s own mistakes)', async () => {
    const breaker = circuitBreaker({ strategy: consecutive(2), clock: createVirtualClock() });
    const notFound = () => {
      throw new SluiceError({ code: 'not_found', reason: 'ORDER_NOT_FOUND' });
    };
    for (let i = 0; i < 5; i++) await attempt(breaker, notFound);
    expect(breaker.state).toBe('closed');
    await attempt(breaker, () => {
      throw new Error('crash');
    });
    await attempt(breaker, down);
    expect(breaker.state).toBe('open');
  });

  it('opens on the failure rate over a count window once minimumCalls were seen', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({
      strategy: countWindow({ size: 4, failureRateThreshold: 0.5, minimumCalls: 4 }),
      clock,
    });
    await attempt(breaker, down);
    await attempt(breaker, down);
    await attempt(breaker, up);
    expect(breaker.state).toBe('closed'); // 3 calls < minimumCalls
    await attempt(breaker, up);
    expect(breaker.state).toBe('open'); // 2 of 4 failed
  });

  it('slides the count window: old outcomes leave it', async () => {
    const breaker = circuitBreaker({
      strategy: countWindow({ size: 3, failureRateThreshold: 0.66, minimumCalls: 3 }),
      clock: createVirtualClock(),
    });
    for (const fn of [down, up, up, down, up, down]) await attempt(breaker, fn);
    // Windows seen: [d,u,u] [u,u,d] [u,d,u] [d,u,d]: only the last reaches 2/3 failures.
    expect(breaker.state).toBe('open');
  });

  it('opens on the failure rate over a time window only above the minimum throughput', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({
      strategy: timeWindow({ windowMs: 1_000, buckets: 10, failureRateThreshold: 0.5, minimumThroughput: 4 }),
      clock,
    });
    await attempt(breaker, down);
    await attempt(breaker, down);
    await attempt(breaker, down);
    expect(breaker.state).toBe('closed');
    await clock.advance(1_000); // those failures leave the window
    await attempt(breaker, up);
    await attempt(breaker, up);
    await attempt(breaker, down);
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics().window).toMatchObject({ calls: 3, failures: 1 });
    await attempt(breaker, down);
    expect(breaker.state).toBe('open');
  });

  it('opens on the slow-call rate', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({
      strategy: countWindow({ size: 2, failureRateThreshold: 1 }),
      slowCall: { thresholdMs: 100, rateThreshold: 1 },
      clock,
    });
    const slow = () => new Promise((r) => clock.setTimeout(() => r('slow'), 150));
    const a = breaker.execute(slow);
    await clock.advance(150);
    await a;
    expect(breaker.state).toBe('closed');
    const reasons: string[] = [];
    breaker.onBreak((e) => reasons.push(e.reason));
    const b = breaker.execute(slow);
    await clock.advance(150);
    await b;
    expect(breaker.state).toBe('open');
    expect(reasons).toEqual(['slow-calls']);
    expect(breaker.metrics().slowCalls).toBe(2);
  });

  it('isolate() rejects everything until reset()', async () => {
    const breaker = circuitBreaker({ clock: createVirtualClock() });
    breaker.isolate();
    await expect(breaker.execute(up)).rejects.toMatchObject({ reason: 'RESILIENCE_CIRCUIT_ISOLATED' });
    expect(breaker.state).toBe('isolated');
    breaker.reset();
    await expect(breaker.execute(up)).resolves.toBe('up');
  });

  it('ignores outcomes of calls admitted before the last state change', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(1), breakDurationMs: 100, clock });
    let fail: (() => void) | undefined;
    const stale = breaker.execute(
      () =>
        new Promise((_, reject) => {
          fail = () => reject(new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN' }));
        }),
    );
    breaker.isolate();
    breaker.reset();
    fail?.();
    await stale.catch(() => {});
    expect(breaker.state).toBe('closed');
  });

  it('round-trips its state through toJSON() and initialState', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(1), breakDurationMs: 1_000, clock });
    await attempt(breaker, down);
    await clock.advance(300);
    const snapshot = JSON.parse(JSON.stringify(breaker));
    expect(snapshot).toEqual({
      state: 'open',
      openRemainingMs: 700,
      consecutiveOpens: 1,
      lastBreakMs: 1_000,
    });
    const clock2 = createVirtualClock({ start: 50_000 });
    const revived = circuitBreaker({ breakDurationMs: 1_000, initialState: snapshot, clock: clock2 });
    await expect(revived.execute(up)).rejects.toMatchObject({ retryAfterMs: 700 });
    await clock2.advance(700);
    await expect(revived.execute(up)).resolves.toBe('up');
  });

  it('emits state changes in order', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(1), breakDurationMs: 10, clock });
    const changes: string[] = [];
    breaker.onStateChange((e) => changes.push(`${e.from}>${e.to}`));
    const halfOpen: unknown[] = [];
    const closed: unknown[] = [];
    const rejected: unknown[] = [];
    breaker.onHalfOpen((e) => halfOpen.push(e));
    breaker.onClose((e) => closed.push(e));
    breaker.onRejected((e) => rejected.push(e));
    await attempt(breaker, down);
    await attempt(breaker, up);
    await clock.advance(10);
    await attempt(breaker, up);
    expect(changes).toEqual(['closed>open', 'open>half-open', 'half-open>closed']);
    expect(halfOpen).toHaveLength(1);
    expect(closed).toHaveLength(1);
    expect(rejected).toEqual([{ breaker: 'circuit-breaker', state: 'open', retryAfterMs: 10 }]);
  });

  it('outcome API: rejects with one shared frozen error whose retryAfterMs is live', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(1), breakDurationMs: 1_000, clock });
    await breaker.executeOutcome(down);
    const a = await breaker.executeOutcome(up);
    await clock.advance(250);
    const b = await breaker.executeOutcome(up);
    expect(a.ok).toBe(false);
    expect(b.ok).toBe(false);
    if (a.ok || b.ok) return;
    expect(a.error).toBe(b.error);
    expect(Object.isFrozen(a.error)).toBe(true);
    expect(a.error).toBeInstanceOf(CircuitOpenError);
    expect((b.error as CircuitOpenError).retryAfterMs).toBe(750);
    expect(await breaker.executeOutcome(() => 1)).toEqual({ ok: false, error: a.error });
    await clock.advance(750);
    expect(await breaker.executeOutcome(() => 1)).toEqual({ ok: true, value: 1 });
  });

  it('describes its effective options', () => {
    expect(circuitBreaker({ name: 'inventory' }).describe()).toEqual({
      kind: 'circuit-breaker',
      name: 'inventory',
      options: {
        strategy: { type: 'consecutive', threshold: 5 },
        breakDurationMs: 10_000,
        halfOpen: { maxProbes: 1, successThreshold: 1 },
      },
    });
  });

  it('rejects nonsensical settings', () => {
    expectInvalidOption(() => consecutive(0), 'threshold');
    expectInvalidOption(() => countWindow({ size: 10, failureRateThreshold: 1.5 }), 'failureRateThreshold');
    expectInvalidOption(() => countWindow({ size: 10, minimumCalls: 11 }), 'minimumCalls');
    expectInvalidOption(() => timeWindow({ windowMs: 0 }), 'windowMs');
    expectInvalidOption(() => circuitBreaker({ halfOpen: { maxProbes: 0 } }), 'halfOpen.maxProbes');
    expectInvalidOption(
      () => circuitBreaker({ initialState: JSON.parse('{"state":"ajar"}') }),
      'initialState.state',
    );
    expectInvalidOption(
      () => circuitBreaker({ initialState: { state: 'open', openRemainingMs: -5 } }),
      'initialState.openRemainingMs',
    );
  });

  it('counts what a custom isFailure accepts, and everything else as success', async () => {
    const breaker = circuitBreaker({
      strategy: consecutive(2),
      isFailure: (e) => e instanceof Error && e.message === 'overloaded',
      clock: createVirtualClock(),
    });
    for (let i = 0; i < 3; i++) await attempt(breaker, down); // a SluiceError, but not "overloaded"
    expect(breaker.state).toBe('closed');
    const overloaded = () => {
      throw new Error('overloaded');
    };
    await attempt(breaker, overloaded);
    await attempt(breaker, overloaded);
    expect(breaker.state).toBe('open');
    expect(breaker.metrics()).toMatchObject({ successes: 3, failures: 2 });
  });

  it('with consecutive(), a slow success counts toward the threshold like a failure', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(2), slowCall: { thresholdMs: 50 }, clock });
    const slow = () => new Promise((r) => clock.setTimeout(() => r('slow'), 60));
    const a = breaker.execute(slow);
    await clock.advance(60);
    await a;
    expect(breaker.state).toBe('closed');
    await attempt(breaker, down);
    expect(breaker.state).toBe('open');
  });

  it('hydrates an isolated or half-open state', async () => {
    const isolated = circuitBreaker({ initialState: { state: 'isolated' }, clock: createVirtualClock() });
    await expect(isolated.execute(up)).rejects.toMatchObject({ reason: 'RESILIENCE_CIRCUIT_ISOLATED' });
    const halfOpen = circuitBreaker({
      initialState: { state: 'half-open', consecutiveOpens: 2, lastBreakMs: 200 },
      breakBackoff: exponential({ baseMs: 100, jitter: 'none' }),
      clock: createVirtualClock(),
    });
    expect(halfOpen.state).toBe('half-open');
    const breaks: number[] = [];
    halfOpen.onBreak((e) => breaks.push(e.durationMs ?? -1));
    await attempt(halfOpen, down);
    expect(breaks).toEqual([400]); // the third opening in a row
  });

  it('describes slow-call and growing-break settings', () => {
    expect(
      circuitBreaker({
        strategy: timeWindow({ windowMs: 5_000 }),
        slowCall: { thresholdMs: 300, rateThreshold: 0.8 },
        breakBackoff: exponential({ baseMs: 1_000, maxMs: 60_000, jitter: 'none' }),
      }).describe().options,
    ).toEqual({
      strategy: {
        type: 'time-window',
        windowMs: 5_000,
        buckets: 10,
        failureRateThreshold: 0.5,
        minimumThroughput: 10,
      },
      slowCall: { thresholdMs: 300, rateThreshold: 0.8 },
      breakBackoff: { type: 'exponential', baseMs: 1_000, multiplier: 2, maxMs: 60_000, jitter: 'none' },
      halfOpen: { maxProbes: 1, successThreshold: 1 },
    });
  });

  it('time window: closing forgets old failures even early in the clock’s life (found by the property test)', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({
      strategy: timeWindow({ windowMs: 3_000, buckets: 3, failureRateThreshold: 0.1, minimumThroughput: 1 }),
      breakDurationMs: 1_000,
      clock,
    });
    await attempt(breaker, down); // opens at t=0
    await clock.advance(1_000);
    expect(await attempt(breaker, up)).toBe('ok'); // the probe closes it and resets the window
    expect(await attempt(breaker, up)).toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(breaker.metrics().window).toMatchObject({ calls: 1, failures: 0 });
  });
});
