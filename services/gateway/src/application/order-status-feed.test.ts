import { SluiceError } from '@sluice/errors';
import { createVirtualClock, flushPromises } from '@sluice/testing';
import { describe, expect, it } from 'vitest';
import { createOrderStatusFeed, type OrderStatus } from './order-status-feed.js';

/** A source whose answers the test sets, counting reads. */
function scriptedSource(initial: OrderStatus['status']) {
  const state = {
    status: initial as OrderStatus['status'],
    reason: undefined as string | undefined,
    reads: 0,
    fail: undefined as unknown,
  };
  return {
    state,
    source: {
      async get(id: string): Promise<OrderStatus> {
        state.reads++;
        if (state.fail) throw state.fail;
        return { id, status: state.status, ...(state.reason ? { reason: state.reason } : {}) };
      },
    },
  };
}

describe('createOrderStatusFeed', () => {
  it('shares one poller among watchers, backs off while nothing changes, and ends on a terminal status', async () => {
    const clock = createVirtualClock();
    const { state, source } = scriptedSource('pending');
    const feed = createOrderStatusFeed({ source, clock, minIntervalMs: 100, maxIntervalMs: 800 });
    const a: string[] = [];
    const b: string[] = [];
    feed.watch('o1', { onStatus: (s) => a.push(s.status), onError: () => a.push('error') });
    await flushPromises();
    feed.watch('o1', { onStatus: (s) => b.push(s.status), onError: () => b.push('error') });
    expect(a).toEqual(['pending']);
    expect(b).toEqual(['pending']); // the late joiner gets the latest at once
    expect(feed.activePollers).toBe(1);
    expect(state.reads).toBe(1);
    // Unchanged: 200, 400, 800, 800 ms between polls (doubling from 100, capped).
    await clock.advance(200);
    expect(state.reads).toBe(2);
    await clock.advance(400);
    expect(state.reads).toBe(3);
    await clock.advance(800);
    expect(state.reads).toBe(4);
    await clock.advance(800);
    expect(state.reads).toBe(5);
    state.status = 'confirmed';
    await clock.advance(800);
    expect(a).toEqual(['pending', 'confirmed']);
    expect(b).toEqual(['pending', 'confirmed']);
    expect(feed.activePollers).toBe(0);
    await clock.advance(10_000);
    expect(state.reads).toBe(6);
  });

  it('stops polling when the last watcher leaves', async () => {
    const clock = createVirtualClock();
    const { state, source } = scriptedSource('pending');
    const feed = createOrderStatusFeed({ source, clock, minIntervalMs: 100 });
    const stopA = feed.watch('o1', { onStatus: () => {}, onError: () => {} });
    const stopB = feed.watch('o1', { onStatus: () => {}, onError: () => {} });
    await flushPromises();
    stopA();
    expect(feed.activePollers).toBe(1);
    stopB();
    stopB();
    expect(feed.activePollers).toBe(0);
    const reads = state.reads;
    await clock.advance(60_000);
    expect(state.reads).toBe(reads);
  });

  it('reports an unknown order at once, and a failing source after maxFailures polls', async () => {
    const clock = createVirtualClock();
    const { state, source } = scriptedSource('pending');
    const feed = createOrderStatusFeed({
      source,
      clock,
      minIntervalMs: 10,
      maxIntervalMs: 10,
      maxFailures: 3,
    });
    const notFound = new SluiceError({ code: 'not_found', reason: 'ORDER_NOT_FOUND', message: 'no order' });
    state.fail = notFound;
    const errors: unknown[] = [];
    feed.watch('ghost', { onStatus: () => {}, onError: (e) => errors.push(e) });
    await flushPromises();
    expect(errors).toEqual([notFound]);
    expect(feed.activePollers).toBe(0);

    state.fail = new SluiceError({ code: 'unavailable', reason: 'HTTP_CONNECTION_FAILED', message: 'down' });
    const later: unknown[] = [];
    feed.watch('o2', { onStatus: () => {}, onError: (e) => later.push(e) });
    await flushPromises();
    await clock.advance(10);
    expect(later).toEqual([]);
    await clock.advance(10);
    expect(later).toHaveLength(1);
    expect(feed.activePollers).toBe(0);
  });

  it('reports a changed reason as a change', async () => {
    const clock = createVirtualClock();
    const { state, source } = scriptedSource('pending');
    const feed = createOrderStatusFeed({ source, clock, minIntervalMs: 10 });
    const seen: (string | undefined)[] = [];
    feed.watch('o', { onStatus: (s) => seen.push(`${s.status}:${s.reason ?? ''}`), onError: () => {} });
    await flushPromises();
    state.status = 'cancelled';
    state.reason = 'PAYMENT_DECLINED';
    await clock.advance(20);
    expect(seen).toEqual(['pending:', 'cancelled:PAYMENT_DECLINED']);
  });
});
