import { createVirtualClock, flushPromises } from '@sluice/testing';
import { describe, expect, it } from 'vitest';
import { bulkhead } from './bulkhead.js';
import { BulkheadFullError, BulkheadTimeoutError, CancelledError } from './errors.js';
import { expectInvalidOption } from './expect-invalid-option.test-support.js';

/** An operation that waits until its returned `release` is called. */
function gate() {
  const releases: Array<() => void> = [];
  let started = 0;
  const fn = () =>
    new Promise<string>((resolve) => {
      started++;
      releases.push(() => resolve('done'));
    });
  return { fn, releases, started: () => started };
}

describe('bulkhead', () => {
  it('runs at most maxConcurrent calls and queues up to maxQueued, rejecting beyond', async () => {
    const policy = bulkhead({ maxConcurrent: 2, maxQueued: 1, clock: createVirtualClock() });
    const g = gate();
    const a = policy.execute(g.fn);
    const b = policy.execute(g.fn);
    const c = policy.execute(g.fn);
    await expect(policy.execute(g.fn)).rejects.toBeInstanceOf(BulkheadFullError);
    await flushPromises();
    expect(g.started()).toBe(2);
    expect(policy.metrics()).toMatchObject({ active: 2, queued: 1, rejected: 1 });
    g.releases[0]?.();
    await flushPromises();
    expect(g.started()).toBe(3); // the queued call took the freed slot
    expect(policy.metrics()).toMatchObject({ active: 2, queued: 0 });
    g.releases[1]?.();
    g.releases[2]?.();
    await expect(Promise.all([a, b, c])).resolves.toEqual(['done', 'done', 'done']);
    expect(policy.metrics()).toMatchObject({ active: 0, queued: 0, executed: 3 });
  });

  it('gives the slot back when the operation fails', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    await expect(
      policy.execute(() => {
        throw new Error('x');
      }),
    ).rejects.toThrow('x');
    await expect(policy.execute(() => 'next')).resolves.toBe('next');
  });

  it('rejects a call that waited longer than queueTimeoutMs and frees its place', async () => {
    const clock = createVirtualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 100, clock });
    const g = gate();
    void policy.execute(g.fn);
    const queued = policy.execute(g.fn);
    const seen = expect(queued).rejects.toBeInstanceOf(BulkheadTimeoutError);
    await clock.advance(100);
    await seen;
    expect(policy.metrics()).toMatchObject({ queued: 0, queueTimeouts: 1 });
    // Its place is free again.
    const next = policy.execute(g.fn);
    await flushPromises();
    expect(policy.metrics().queued).toBe(1);
    g.releases[0]?.();
    await flushPromises();
    g.releases[1]?.();
    await expect(next).resolves.toBe('done');
    expect(g.started()).toBe(2);
  });

  it('lets a queued call whose signal aborts leave at once and free its place', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueued: 1, clock: createVirtualClock() });
    const g = gate();
    void policy.execute(g.fn);
    const caller = new AbortController();
    const queued = policy.execute(g.fn, caller.signal);
    await flushPromises();
    expect(policy.metrics().queued).toBe(1);
    caller.abort();
    await expect(queued).rejects.toBeInstanceOf(CancelledError);
    expect(policy.metrics()).toMatchObject({ queued: 0, aborted: 1 });
    const next = policy.execute(g.fn);
    await expect(policy.execute(g.fn)).rejects.toBeInstanceOf(BulkheadFullError);
    g.releases[0]?.();
    await flushPromises();
    g.releases[1]?.();
    await expect(next).resolves.toBe('done');
    expect(g.started()).toBe(2); // the aborted call never ran
  });

  it('outcome API: rejects with one shared frozen error', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const g = gate();
    void policy.execute(g.fn);
    const a = await policy.executeOutcome(g.fn);
    const b = await policy.executeOutcome(g.fn);
    expect(a).toEqual({ ok: false, error: expect.any(BulkheadFullError) });
    if (a.ok || b.ok) throw new Error('expected rejections');
    expect(a.error).toBe(b.error);
    expect(Object.isFrozen(a.error)).toBe(true);
    expect(a.error).toMatchObject({ code: 'resource_exhausted', reason: 'RESILIENCE_BULKHEAD_FULL' });
  });

  it('emits a rejection event for each reason', async () => {
    const clock = createVirtualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 5, clock });
    const reasons: string[] = [];
    policy.onRejected((e) => reasons.push(e.reason));
    const g = gate();
    void policy.execute(g.fn);
    policy.execute(g.fn).catch(() => {});
    await policy.execute(g.fn).catch(() => {});
    await clock.advance(5);
    const caller = new AbortController();
    const p = policy.execute(g.fn, caller.signal).catch(() => {});
    caller.abort();
    await p;
    expect(reasons).toEqual(['full', 'queue-timeout', 'aborted']);
  });

  it('rejects nonsensical settings', () => {
    expectInvalidOption(() => bulkhead({ maxConcurrent: 0 }), 'maxConcurrent');
    expectInvalidOption(() => bulkhead({ maxConcurrent: 1, maxQueued: -1 }), 'maxQueued');
  });
});
