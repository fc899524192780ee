import type { Clock } from '@sluice/resilience';
import type { Pool } from 'pg';
import type { Priority } from '../transport.js';

/**
 * The storage side of the relay, one implementation per dialect (SQLite,
 * PostgreSQL). The relay itself is dialect-free: it claims rows, publishes
 * them through the bus and reports back. @internal
 */

/** A claimed outbox row. @internal */
export interface ClaimedRow {
  readonly seq: number;
  readonly id: string;
  readonly topic: string;
  readonly orderingKey: string | null;
  readonly priority: Priority;
  readonly deliverAt: number | null;
  /** The envelope: JSON text (SQLite) or already parsed (PostgreSQL `jsonb`). */
  readonly envelope: unknown;
  readonly headers: unknown;
  /** Failed publishes so far. */
  readonly attempts: number;
}

/** @internal */
export interface RelayStore {
  /**
   * Leases up to `limit` claimable rows to `owner` until `now + leaseMs`: unsent,
   * due (`next_attempt_at <= now`), not leased by a live lease, and no earlier
   * unsent row of the same ordering key is blocked (leased or waiting for a
   * retry). Returned in sequence order.
   */
  claim(owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedRow[]>;
  /** Marks rows sent (or deletes them when retention is 0), if `owner` still holds them. */
  markSent(owner: string, seqs: readonly number[], now: number): Promise<void>;
  /** Records a failed publish: `attempts + 1`, `last_error`, not claimable before `nextAttemptAt`; the lease ends. */
  markFailed(owner: string, seqs: readonly number[], nextAttemptAt: number, error: string): Promise<void>;
  /** Ends `owner`'s lease on rows it did not try to publish. */
  release(owner: string, seqs: readonly number[]): Promise<void>;
  /** The earliest time after `now` at which an unsent, currently blocked row becomes claimable, if any. */
  nextDue(now: number): Promise<number | undefined>;
  /** Deletes up to `limit` rows sent before `sentBefore`; returns how many. */
  prune(sentBefore: number, limit: number): Promise<number>;
  /**
   * Calls `wake` whenever rows may have been committed (SQLite: after an `add`
   * in this process; PostgreSQL: a NOTIFY at commit), `onError` when the
   * wake-up channel fails (it recovers by itself). Resolves with a disposer.
   */
  watch(wake: () => void, onError: (error: unknown) => void): Promise<() => Promise<void>>;
}

/** What a relay passes to an outbox to get its {@link RelayStore}. @internal */
export interface RelayStoreOptions {
  readonly pool: Pool | undefined;
  readonly clock: Clock;
  /** Sent rows are kept this long (ms); 0 deletes them at once. */
  readonly retentionMs: number;
}

/** The key under which an outbox gives the relay its store. @internal */
export const RELAY_STORE: unique symbol = Symbol('sluice.outbox.relay-store');

/** An outbox as the relay sees it. @internal */
export interface RelaySource {
  readonly dialect: 'sqlite' | 'postgres';
  [RELAY_STORE](options: RelayStoreOptions): RelayStore;
}
