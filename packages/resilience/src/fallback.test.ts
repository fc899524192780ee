import { SluiceError } from '@sluice/errors';
import { createVirtualClock } from '@sluice/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { bulkhead } from './bulkhead.js';
import { circuitBreaker } from './circuit-breaker.js';
import { CancelledError } from './errors.js';
import { expectInvalidOption } from './expect-invalid-option.test-support.js';
import { fallback } from './fallback.js';
import { pipeline } from './pipeline.js';

const down = () => {
  throw new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN' });
};

describe('fallback', () => {
  it('returns the value instead of an error, and the operation’s value otherwise', async () => {
    const policy = fallback({ value: 'cached' });
    await expect(policy.execute(down)).resolves.toBe('cached');
    await expect(policy.execute(() => 'fresh')).resolves.toBe('fresh');
    expect(policy.metrics()).toEqual({ kind: 'fallback', name: 'fallback', calls: 2, fallbacks: 1 });
  });

  it('calls the handler with the error and the context', async () => {
    const policy = fallback({
      handler: async (error, ctx) => `degraded (${(error as SluiceError).reason}, attempt ${ctx.attempt})`,
    });
    await expect(policy.execute(down)).resolves.toBe('degraded (TEST_DOWN, attempt 1)');
  });

  it('replaces only the errors fallbackOn accepts', async () => {
    const policy = fallback({
      value: 0,
      fallbackOn: (e) => e instanceof SluiceError && e.code === 'unavailable',
    });
    await expect(policy.execute(down)).resolves.toBe(0);
    await expect(
      policy.execute(() => {
        throw new TypeError('bug');
      }),
    ).rejects.toThrow('bug');
  });

  it('does not replace the caller’s own cancellation by default', async () => {
    const policy = fallback({ value: 'x' });
    await expect(
      policy.execute(() => {
        throw new CancelledError();
      }),
    ).rejects.toBeInstanceOf(CancelledError);
  });

  it('covers a breaker’s and a bulkhead’s rejections, on both APIs', async () => {
    const breaker = circuitBreaker({ clock: createVirtualClock() });
    breaker.isolate();
    const policy = pipeline(fallback({ value: 'fallback' }), breaker);
    await expect(policy.execute(() => 'live')).resolves.toBe('fallback');
    expect(await policy.executeOutcome(() => 'live')).toEqual({ ok: true, value: 'fallback' });
    const full = bulkhead({ maxConcurrent: 1 });
    const guarded = pipeline(fallback({ value: -1 }), full);
    const hold = full.execute(() => new Promise((r) => setImmediate(r)));
    expect(await guarded.executeOutcome(() => 1)).toEqual({ ok: true, value: -1 });
    await hold;
  });

  it('widens the pipeline’s type to T | R', async () => {
    const policy = pipeline(fallback({ value: null }), circuitBreaker());
    const value = await policy.execute(() => 42);
    expectTypeOf(value).toEqualTypeOf<number | null>();
  });

  it('emits onFallback until disposed', async () => {
    const policy = fallback({ value: 1, name: 'stock' });
    const seen: unknown[] = [];
    const dispose = policy.onFallback((e) => seen.push(e.policy));
    await policy.execute(down);
    dispose();
    await policy.execute(down);
    expect(seen).toEqual(['stock']);
    expect(policy.describe()).toEqual({ kind: 'fallback', name: 'stock', options: { with: 'value' } });
  });

  it('rejects nonsensical settings', () => {
    expectInvalidOption(() => fallback({} as never), 'value');
    expectInvalidOption(() => fallback({ handler: 3 } as never), 'handler');
  });
});
