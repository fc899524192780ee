import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DELAY_LEVEL_MS, MIN_DELAY_LEVEL_MS, nextDelayLevel } from './delay-levels.js';

describe('nextDelayLevel', () => {
  it('says a message is due when nothing remains', () => {
    expect(nextDelayLevel(0)).toBeUndefined();
    expect(nextDelayLevel(-5)).toBeUndefined();
    expect(nextDelayLevel(Number.NaN)).toBeUndefined();
  });

  it('uses the shortest level for waits below it', () => {
    expect(nextDelayLevel(1)).toBe(MIN_DELAY_LEVEL_MS);
    expect(nextDelayLevel(MIN_DELAY_LEVEL_MS)).toBe(MIN_DELAY_LEVEL_MS);
  });

  it('picks the largest power of two not above the wait', () => {
    expect(nextDelayLevel(1000)).toBe(512);
    expect(nextDelayLevel(1024)).toBe(1024);
    expect(nextDelayLevel(10 * MAX_DELAY_LEVEL_MS)).toBe(MAX_DELAY_LEVEL_MS);
  });

  it('never delivers early and overshoots by at most the shortest level (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), (delay) => {
        let remaining = delay;
        let waited = 0;
        let hops = 0;
        for (let level = nextDelayLevel(remaining); level !== undefined; level = nextDelayLevel(remaining)) {
          expect(Number.isInteger(Math.log2(level))).toBe(true);
          waited += level;
          remaining -= level;
          hops++;
          expect(hops).toBeLessThan(600);
        }
        expect(waited).toBeGreaterThanOrEqual(delay);
        expect(waited - delay).toBeLessThan(MIN_DELAY_LEVEL_MS);
      }),
    );
  });
});
