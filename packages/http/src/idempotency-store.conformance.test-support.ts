import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IdempotencyClaim, IdempotencyStore, StoredResponse } from './idempotency-store.js';

/** Builds a fresh, empty store for one test; `dispose` cleans up after it. */
export interface StoreFixture {
  readonly store: IdempotencyStore;
  readonly dispose: () => Promise<void>;
}

const T0 = 1_700_000_000_000;
const TTL = 60_000;
const LOCK = 5_000;

function claim(key: string, fingerprint: string, now = T0): IdempotencyClaim {
  return { key, fingerprint, now, expiresAt: now + TTL, lockedUntil: now + LOCK };
}

const response: StoredResponse = {
  status: 201,
  headers: { 'content-type': 'application/json; charset=utf-8', location: '/orders/o-1' },
  body: new TextEncoder().encode('{"id":"o-1"}'),
};

/**
 * The behaviour every {@link IdempotencyStore} must have, run against the
 * memory, SQLite and PostgreSQL stores alike.
 */
export function idempotencyStoreConformance(name: string, create: () => Promise<StoreFixture>): void {
  describe(`IdempotencyStore conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: IdempotencyStore;
    beforeEach(async () => {
      fixture = await create();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    it('acquires a new key once; the same payload meanwhile is in flight, another payload a mismatch', async () => {
      const first = await store.begin(claim('k1', 'fp-a'));
      expect(first.state).toBe('acquired');
      expect((await store.begin(claim('k1', 'fp-a', T0 + 10))).state).toBe('in_flight');
      expect((await store.begin(claim('k1', 'fp-b', T0 + 10))).state).toBe('mismatch');
    });

    it('replays the stored status, headers and exact body bytes after completion', async () => {
      const first = await store.begin(claim('k2', 'fp-a'));
      if (first.state !== 'acquired') throw new Error('not acquired');
      expect(await store.complete('k2', first.token, response, T0 + TTL)).toBe(true);
      const again = await store.begin(claim('k2', 'fp-a', T0 + 1_000));
      expect(again.state).toBe('completed');
      if (again.state !== 'completed') return;
      expect(again.response.status).toBe(201);
      expect(again.response.headers).toEqual(response.headers);
      expect(Buffer.from(again.response.body).toString()).toBe('{"id":"o-1"}');
      expect((await store.begin(claim('k2', 'fp-other', T0 + 1_000))).state).toBe('mismatch');
    });

    it('keeps binary bodies byte for byte', async () => {
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      const first = await store.begin(claim('bin', 'fp'));
      if (first.state !== 'acquired') throw new Error('not acquired');
      await store.complete('bin', first.token, { status: 200, headers: {}, body: bytes }, T0 + TTL);
      const again = await store.begin(claim('bin', 'fp', T0 + 1));
      expect(again.state === 'completed' && Array.from(again.response.body)).toEqual(Array.from(bytes));
    });

    it('frees a released key for the next request, whatever its payload', async () => {
      const first = await store.begin(claim('k3', 'fp-a'));
      if (first.state !== 'acquired') throw new Error('not acquired');
      await store.release('k3', first.token);
      expect((await store.begin(claim('k3', 'fp-b', T0 + 1))).state).toBe('acquired');
    });

    it('forgets a key once it expires', async () => {
      const first = await store.begin(claim('k4', 'fp-a'));
      if (first.state !== 'acquired') throw new Error('not acquired');
      await store.complete('k4', first.token, response, T0 + TTL);
      expect((await store.begin(claim('k4', 'fp-b', T0 + TTL - 1))).state).toBe('mismatch');
      expect((await store.begin(claim('k4', 'fp-b', T0 + TTL))).state).toBe('acquired');
    });

    it('lets a lapsed in-flight claim be taken over by the same payload, and the old owner can no longer complete', async () => {
      const first = await store.begin(claim('k5', 'fp-a'));
      if (first.state !== 'acquired') throw new Error('not acquired');
      expect((await store.begin(claim('k5', 'fp-b', T0 + LOCK))).state).toBe('mismatch');
      const second = await store.begin(claim('k5', 'fp-a', T0 + LOCK));
      expect(second.state).toBe('acquired');
      expect(await store.complete('k5', first.token, response, T0 + TTL)).toBe(false);
      await store.release('k5', first.token); // a stale release must not free the new claim
      expect((await store.begin(claim('k5', 'fp-a', T0 + LOCK + 1))).state).toBe('in_flight');
    });

    it('does not complete twice or release a completed key', async () => {
      const first = await store.begin(claim('k6', 'fp'));
      if (first.state !== 'acquired') throw new Error('not acquired');
      expect(await store.complete('k6', first.token, response, T0 + TTL)).toBe(true);
      expect(await store.complete('k6', first.token, { ...response, status: 500 }, T0 + TTL)).toBe(false);
      await store.release('k6', first.token);
      const again = await store.begin(claim('k6', 'fp', T0 + 1));
      expect(again.state === 'completed' && again.response.status).toBe(201);
    });

    it('keeps keys independent', async () => {
      expect((await store.begin(claim('a caller POST /x key', 'fp'))).state).toBe('acquired');
      expect((await store.begin(claim('b caller POST /x key', 'fp'))).state).toBe('acquired');
    });

    it('purges only expired records', async () => {
      await store.begin({ ...claim('old', 'fp'), expiresAt: T0 + 10 });
      await store.begin(claim('new', 'fp'));
      expect(await store.purgeExpired(T0 + 10)).toBe(1);
      expect((await store.begin(claim('new', 'fp', T0 + 11))).state).toBe('in_flight');
    });

    it('gives one of 20 concurrent claims of a key the key', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => store.begin(claim('race', 'fp'))));
      expect(results.filter((r) => r.state === 'acquired')).toHaveLength(1);
      expect(results.filter((r) => r.state === 'in_flight')).toHaveLength(19);
    });
  });
}
