import { randomUUID } from 'node:crypto';
import type {
  IdempotencyBeginResult,
  IdempotencyClaim,
  IdempotencyStore,
  StoredResponse,
} from './idempotency-store.js';

interface MemoryRecord {
  fingerprint: string;
  token: string;
  lockedUntil: number;
  expiresAt: number;
  response: StoredResponse | undefined;
}

/** Options of {@link createMemoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /**
   * Most records kept. When full, the oldest key is forgotten (a retry with
   * it would run again): size it above your request rate × `ttlMs`.
   * Default 100 000.
   */
  readonly maxEntries?: number;
}

/**
 * An idempotency store in process memory: for tests and single-instance
 * services that accept losing keys on restart.
 */
export function createMemoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): IdempotencyStore {
  const max = options.maxEntries ?? 100_000;
  const records = new Map<string, MemoryRecord>();
  const purge = (now: number) => {
    let n = 0;
    for (const [k, r] of records) {
      if (r.expiresAt <= now) {
        records.delete(k);
        n++;
      }
    }
    return n;
  };
  return {
    async begin(claim: IdempotencyClaim): Promise<IdempotencyBeginResult> {
      const existing = records.get(claim.key);
      if (existing !== undefined && existing.expiresAt > claim.now) {
        if (existing.fingerprint !== claim.fingerprint) return { state: 'mismatch' };
        if (existing.response !== undefined) return { state: 'completed', response: existing.response };
        if (existing.lockedUntil > claim.now) return { state: 'in_flight' };
      }
      // The Map keeps insertion order, which (one TTL for all) is expiry
      // order: drop expired records from the front, stopping at the first
      // live one — amortised O(1), never a scan of the whole store.
      for (const [k, r] of records) {
        if (r.expiresAt > claim.now) break;
        records.delete(k);
      }
      // Still full: the oldest live key is forgotten (see maxEntries).
      if (existing === undefined && records.size >= max)
        records.delete(records.keys().next().value as string);
      const token = randomUUID();
      records.delete(claim.key);
      records.set(claim.key, {
        fingerprint: claim.fingerprint,
        token,
        lockedUntil: claim.lockedUntil,
        expiresAt: claim.expiresAt,
        response: undefined,
      });
      return { state: 'acquired', token };
    },
    async complete(key, token, response, expiresAt) {
      const r = records.get(key);
      if (r === undefined || r.token !== token || r.response !== undefined) return false;
      r.response = {
        status: response.status,
        headers: { ...response.headers },
        body: new Uint8Array(response.body),
      };
      r.expiresAt = expiresAt;
      return true;
    },
    async release(key, token) {
      const r = records.get(key);
      if (r !== undefined && r.token === token && r.response === undefined) records.delete(key);
    },
    async purgeExpired(now) {
      return purge(now);
    },
    async close() {
      records.clear();
    },
  };
}
