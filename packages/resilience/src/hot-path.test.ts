import { SluiceError } from '@sluice/errors';
import { createVirtualClock } from '@sluice/testing';
import { describe, expect, it } from 'vitest';
import { bulkhead } from './bulkhead.js';
import { circuitBreaker } from './circuit-breaker.js';
import type { Clock } from './clock.js';
import { hedging } from './hedging.js';
import { pipeline } from './pipeline.js';
import { retry } from './retry.js';
import { timeout } from './timeout.js';

/** A virtual clock that counts how often policies read it and set timers. */
function countingClock() {
  const clock = createVirtualClock();
  const counts = { now: 0, timers: 0 };
  const counting: Clock = {
    now: () => {
      counts.now++;
      return clock.now();
    },
    setTimeout: (cb, ms, options) => {
      counts.timers++;
      return clock.setTimeout(cb, ms, options);
    },
    clearTimeout: (handle) => clock.clearTimeout(handle),
  };
  return { clock, counting, counts };
}

describe('success path cost (what is not done)', () => {
  it('creates no AbortController unless the operation reads its signal, and aborts nothing', async () => {
    const { counting } = countingClock();
    const policy = pipeline(
      bulkhead({ maxConcurrent: 10 }),
      circuitBreaker({ clock: counting }),
      retry({ clock: counting }),
      timeout(1_000, { clock: counting }),
    );
    const counts = { created: 0, aborted: 0 };
    const Original = globalThis.AbortController;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        counts.created++;
      }
      override abort(reason?: unknown) {
        counts.aborted++;
        super.abort(reason);
      }
    };
    try {
      for (let i = 0; i < 100; i++) await policy.execute(() => i);
      expect(counts.created).toBe(0);
      let seen: AbortSignal | undefined;
      await policy.execute(({ signal }) => {
        seen = signal;
        return 1;
      });
      expect(counts.created).toBe(1);
      expect(seen?.aborted).toBe(false);
      expect(counts.aborted).toBe(0);
    } finally {
      globalThis.AbortController = Original;
    }
  });

  it('reads no clock per call: ticking timeout, breaker without slow calls, retry and hedging', async () => {
    const { counting, counts } = countingClock();
    const policy = pipeline(
      circuitBreaker({ clock: counting }),
      retry({ clock: counting }),
      hedging({ delayMs: 2_000, clock: counting }),
      timeout(1_000, { clock: counting }),
    );
    for (let i = 0; i < 200; i++) await policy.execute(async () => i);
    // One read and one timer each when the timeout and the hedge timer (idle until then) start ticking.
    expect(counts.now).toBe(2);
    expect(counts.timers).toBe(2);
  });

  it('builds no event when nobody listens, and stops once the listener is disposed', async () => {
    const breaker = circuitBreaker({ clock: createVirtualClock() });
    const failing = () => {
      throw new SluiceError({ code: 'invalid_argument', reason: 'X' });
    };
    const seen: unknown[] = [];
    const dispose = breaker.onStateChange((e) => seen.push(e));
    breaker.isolate();
    dispose();
    breaker.reset();
    await breaker.execute(failing).catch(() => {});
    expect(seen).toHaveLength(1);
  });

  it('a listener that throws does not disturb the policy', async () => {
    const uncaught: unknown[] = [];
    const onError = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onError);
    try {
      const breaker = circuitBreaker({ clock: createVirtualClock() });
      breaker.onStateChange(() => {
        throw new Error('listener bug');
      });
      breaker.isolate();
      expect(breaker.state).toBe('isolated');
      await new Promise((r) => setImmediate(r));
      expect(uncaught).toHaveLength(1);
    } finally {
      process.off('uncaughtException', onError);
    }
  });
});
