import { isSluiceError } from '@sluice/errors';
import { createVirtualClock } from '@sluice/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyStats } from './latency-stats.js';
import { runLoad } from './load-run.js';
import { DEFAULT_MIX, parseMix, pickScenario } from './order-mix.js';

describe('runLoad', () => {
  it('starts rate × duration orders on schedule and measures from the intended start', async () => {
    const clock = createVirtualClock();
    const startedAt: number[] = [];
    const result = runLoad({
      rate: 10,
      durationMs: 1000,
      concurrency: 100,
      mix: DEFAULT_MIX,
      clock,
      random: () => 0,
      run: (_s, i) => {
        startedAt[i] = clock.now();
        // Every order takes 50 ms.
        return new Promise((r) => clock.setTimeout(() => r('confirmed'), 50));
      },
    });
    await clock.runAll();
    const r = await result;
    expect(r.started).toBe(10);
    expect(r.outcomes).toEqual({ confirmed: 10 });
    expect(startedAt).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(r.latency.p50).toBe(50);
    expect(r.latency.max).toBe(50);
  });

  it('counts queueing behind the concurrency limit as latency', async () => {
    const clock = createVirtualClock();
    const result = runLoad({
      rate: 100,
      durationMs: 100,
      concurrency: 1,
      mix: DEFAULT_MIX,
      clock,
      random: () => 0,
      run: () => new Promise((r) => clock.setTimeout(() => r('confirmed'), 100)),
    });
    await clock.runAll();
    const r = await result;
    // 10 orders, one at a time, 100 ms each: the 10th was meant to start at 90 ms and ends at 1000 ms.
    expect(r.latency.max).toBe(910);
    expect(r.completed).toBe(10);
  });

  it('labels a thrown error by its code', async () => {
    const clock = createVirtualClock();
    const result = runLoad({
      rate: 5,
      durationMs: 1000,
      concurrency: 5,
      mix: DEFAULT_MIX,
      clock,
      random: () => 0,
      run: async () => {
        throw Object.assign(new Error('down'), { code: 'unavailable' });
      },
    });
    await clock.runAll();
    expect((await result).outcomes).toEqual({ 'error:unavailable': 5 });
  });
});

describe('order mix', () => {
  it('parses weights and refuses bad parts with every problem named', () => {
    expect(parseMix('good=80, declined-card=20')).toEqual({
      good: 80,
      'out-of-stock': 0,
      'declined-card': 20,
      'duplicate-request': 0,
    });
    try {
      parseMix('good=x,evil=3');
      expect.unreachable();
    } catch (e) {
      expect(isSluiceError(e) && e.details?.violations?.map((v) => v.field)).toEqual(['good=x', 'evil']);
    }
    expect(() => parseMix('good=0')).toThrow(/at least one/);
  });

  it('picks only scenarios with weight, in proportion', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (x) => {
        expect(
          pickScenario({ good: 0, 'out-of-stock': 1, 'declined-card': 0, 'duplicate-request': 3 }, x),
        ).toBe(x < 0.25 ? 'out-of-stock' : 'duplicate-request');
      }),
    );
  });
});

describe('LatencyStats', () => {
  it('answers nearest-rank percentiles', () => {
    const s = new LatencyStats();
    for (const ms of [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]) s.record(ms);
    expect(s.summary()).toMatchObject({ count: 10, min: 1, p50: 5, p95: 10, p99: 10, max: 10, mean: 5.5 });
    expect(() => s.record(-1)).toThrow(RangeError);
  });
});
