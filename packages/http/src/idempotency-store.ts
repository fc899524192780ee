/**
 * The port behind the idempotency plugin, with memory, SQLite and
 * PostgreSQL adapters; one conformance suite runs against each.
 *
 * A record moves `in_flight` → `completed` (or is deleted by `release`).
 * Times are epoch milliseconds from the caller's clock, so every instance
 * sharing a store must have roughly synchronised clocks (NTP).
 */

/** The response kept for a key and replayed for its retries. */
export interface StoredResponse {
  readonly status: number;
  /** The headers that matter for a replay (content type, location, …), lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** What `begin` is asked to claim. */
export interface IdempotencyClaim {
  /** The scoped key: caller, method, route and the client's key. */
  readonly key: string;
  /** Hash of the request payload; a different one for the same key is a misuse. */
  readonly fingerprint: string;
  /** Now, epoch ms. */
  readonly now: number;
  /** When the key expires, epoch ms (the record is then as good as absent). */
  readonly expiresAt: number;
  /**
   * Until when an in-flight claim holds, epoch ms. Past it (the owner
   * crashed), a request with the same payload may take the key over.
   */
  readonly lockedUntil: number;
}

/** The outcome of {@link IdempotencyStore.begin}. */
export type IdempotencyBeginResult =
  /** The caller owns the key: run the handler, then `complete` or `release` with `token`. */
  | { readonly state: 'acquired'; readonly token: string }
  /** Another request with this key is being processed. */
  | { readonly state: 'in_flight' }
  /** The key was used with a different payload. */
  | { readonly state: 'mismatch' }
  /** The first request finished: replay its response. */
  | { readonly state: 'completed'; readonly response: StoredResponse };

/** Storage of idempotency keys. Every method is atomic with respect to the others. */
export interface IdempotencyStore {
  /** Claims `claim.key`, or reports why not. */
  begin(claim: IdempotencyClaim): Promise<IdempotencyBeginResult>;
  /**
   * Stores the response of the claim holding `token` and keeps it until
   * `expiresAt`. Returns false (and stores nothing) when the claim was lost
   * (its lock lapsed and another request took the key over).
   */
  complete(key: string, token: string, response: StoredResponse, expiresAt: number): Promise<boolean>;
  /** Deletes the claim holding `token` (the handler failed: the key may be used again). */
  release(key: string, token: string): Promise<void>;
  /** Deletes every record expired at `now`; returns how many. */
  purgeExpired(now: number): Promise<number>;
  /** Releases resources the store opened itself. */
  close(): Promise<void>;
}
