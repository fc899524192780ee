import { describe, expect, it } from 'vitest';
import { idempotencyConcurrency } from './idempotency-http.test-support.js';
import { idempotencyStoreConformance } from './idempotency-store.conformance.test-support.js';
import { createMemoryIdempotencyStore } from './memory-idempotency-store.js';

describe('createMemoryIdempotencyStore', () => {
  it('forgets the oldest key when full, and expired keys first', async () => {
    const store = createMemoryIdempotencyStore({ maxEntries: 3 });
    const claim = (key: string, now: number, ttl = 1_000) => ({
      key,
      fingerprint: 'fp',
      now,
      expiresAt: now + ttl,
      lockedUntil: now + ttl,
    });
    await store.begin(claim('a', 0, 10));
    await store.begin(claim('b', 1));
    await store.begin(claim('c', 2));
    await store.begin(claim('d', 20)); // 'a' expired: dropped from the front
    expect((await store.begin(claim('b', 21))).state).toBe('in_flight');
    await store.begin(claim('e', 22)); // full with live keys: the oldest ('b') goes
    expect((await store.begin(claim('c', 23))).state).toBe('in_flight');
    expect((await store.begin(claim('b', 24))).state).toBe('acquired');
  });
});

idempotencyStoreConformance('memory', async () => {
  const store = createMemoryIdempotencyStore();
  return { store, dispose: () => store.close() };
});

idempotencyConcurrency('memory store', async () => {
  const store = createMemoryIdempotencyStore();
  return { stores: [store], dispose: () => store.close() };
});
