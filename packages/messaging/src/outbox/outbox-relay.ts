import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@sluice/contracts';
import { type Backoff, type Clock, type Disposer, exponential } from '@sluice/resilience';
import type { Pool } from 'pg';
import type { PublishEntry } from '../bus/bus.js';
import { errorMessage } from '../bus/retry-decision.js';
import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import type { PgOutbox } from './pg-outbox.js';
import { planWaves, unitsOf } from './publish-plan.js';
import { type ClaimedRow, RELAY_STORE, type RelayStore } from './relay-store.js';
import type { SqliteOutbox } from './sqlite-outbox.js';

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  /** The outbox to drain. */
  readonly outbox: SqliteOutbox | PgOutbox;
  /** Where to publish: a bus (`createBus`), or anything with its `publishBatch`. */
  readonly bus: { publishBatch(entries: readonly PublishEntry[]): Promise<void> };
  /** Required for a PostgreSQL outbox: a pool on its database (claims, marks, and the LISTEN connection's settings). */
  readonly pool?: Pool;
  /** Rows claimed and published per round. Default 100. */
  readonly batchSize?: number;
  /**
   * Longest interval between polls when idle, in ms: the latency bound for
   * rows committed by other processes (SQLite) or whose NOTIFY was lost.
   * Default 1 000.
   */
  readonly pollMs?: number;
  /** First poll interval after a round that published something, in ms; doubles while idle up to `pollMs`. Default 25 (at most `pollMs`). */
  readonly minPollMs?: number;
  /**
   * How long claimed rows stay owned by this relay, in ms. A relay that dies
   * mid-publish holds its rows this long; then another relay publishes them
   * (a duplicate if the first had published). Default 30 000.
   */
  readonly leaseMs?: number;
  /** Delay before publishing a failed row again, by failed attempts. Default `exponential({ baseMs: 500, maxMs: 60_000 })` (full jitter). */
  readonly backoff?: Backoff;
  /**
   * Time source for due times and timers. Its `now()` must be **epoch
   * milliseconds** (it is stored in the table and compared across processes):
   * a virtual clock started at `Date.now()` works. Default: `Date.now()` and
   * Node's timers.
   */
  readonly clock?: Clock;
  /** How long sent rows are kept (for inspection and to skip a re-added id), in ms; 0 deletes them at once. Default 3 600 000 (1 h). */
  readonly retentionMs?: number;
}

/** Emitted after a batch was published and marked sent. */
export interface OutboxPublishedEvent {
  readonly topic: string;
  /** Event ids, in sequence order. */
  readonly ids: readonly string[];
}

/** Emitted when the relay fails: a publish (the rows will be retried), or the database or wake-up channel. */
export interface OutboxErrorEvent {
  /** `publish`: rows failed and wait for `retryAt`; `store`: a claim or mark failed; `listen`: the wake-up channel failed (it reconnects). */
  readonly stage: 'publish' | 'store' | 'listen';
  readonly error: unknown;
  /** Ids of the rows that failed (publish only). */
  readonly ids: readonly string[];
  /** Failed attempts of those rows, this one included (publish only). */
  readonly attempts?: number;
  /** When they are published again, epoch ms (publish only). */
  readonly retryAt?: number;
}

/** What one {@link OutboxRelay.flush} did. */
export interface FlushResult {
  /** Rows published and marked sent. */
  readonly published: number;
  /** Rows whose publish failed (kept, retried after their backoff). */
  readonly failed: number;
}

/** A running (or stopped) relay. */
export interface OutboxRelay {
  /** Starts draining: at once, then on every wake-up and poll. Idempotent. */
  start(): Promise<void>;
  /**
   * Graceful stop: no new round starts, the wake-up channel closes, and the
   * round in progress finishes (its rows are published and marked, or marked
   * failed). Idempotent.
   */
  stop(): Promise<void>;
  /**
   * Publishes everything committed and due now, round after round until
   * nothing is claimable (for tests and shutdown). Works whether the relay is
   * started or not; rows that fail stay for their retry.
   */
  flush(): Promise<FlushResult>;
  onPublished(listener: (event: OutboxPublishedEvent) => void): Disposer;
  onError(listener: (event: OutboxErrorEvent) => void): Disposer;
}

const wallClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(callback: () => void, delayMs: number, options?: { unref?: boolean }) {
    const t = setTimeout(callback, delayMs);
    if (options?.unref) t.unref();
    return t;
  },
  clearTimeout(handle: unknown) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});

const PRUNE_EVERY_MS = 60_000;
const PRUNE_LIMIT = 1_000;

function positiveInt(field: string, value: unknown, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!(Number.isInteger(v) && (v as number) >= min))
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      `${field} must be an integer >= ${min}`,
      [{ field, message: `must be an integer >= ${min}` }],
    );
  return v as number;
}

const parse = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);

function entryOf(row: ClaimedRow): PublishEntry {
  const headers = parse(row.headers) as Record<string, string> | null;
  return {
    event: parse(row.envelope) as EventEnvelope,
    topic: row.topic,
    priority: row.priority,
    ...(row.orderingKey === null ? {} : { orderingKey: row.orderingKey }),
    ...(row.deliverAt === null ? {} : { deliverAt: new Date(row.deliverAt) }),
    ...(headers === null ? {} : { headers }),
  };
}

/**
 * The outbox relay: publishes committed outbox rows through the bus, in
 * sequence order per ordering key, marks them sent once the transport
 * confirmed them, and retries failed ones with backoff (a failing key holds
 * back only its own later rows). Delivery is **at least once**: a relay
 * killed between publish and mark publishes those rows again after its lease
 * (`leaseMs`); consumers deduplicate with the inbox. Several relays on one
 * outbox share the work without publishing a row twice in normal operation
 * (rows are claimed with a lease).
 *
 * Woken on commit, not only by polling: SQLite relays are rung by `add` in the
 * same process and poll adaptively for other processes; PostgreSQL relays
 * LISTEN on a dedicated connection (reconnecting) for the NOTIFY `add` sends.
 *
 * @example
 * ```ts
 * const relay = createOutboxRelay({ outbox, bus });
 * await relay.start();
 * // … on shutdown:
 * await relay.stop();
 * ```
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { outbox, bus } = options;
  if (typeof (outbox as Partial<SqliteOutbox> | undefined)?.[RELAY_STORE] !== 'function')
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      'outbox must be a Sluice outbox',
      [{ field: 'outbox', message: 'from createSqliteOutbox or createPgOutbox' }],
    );
  if (typeof bus?.publishBatch !== 'function')
    throw messagingError('invalid_argument', MessagingReasons.INVALID_MESSAGE, 'bus must have publishBatch', [
      { field: 'bus', message: 'a bus from createBus' },
    ]);
  const batchSize = positiveInt('batchSize', options.batchSize, 100);
  const pollMs = positiveInt('pollMs', options.pollMs, 1_000);
  const minPollMs = Math.min(pollMs, positiveInt('minPollMs', options.minPollMs, 25));
  const leaseMs = positiveInt('leaseMs', options.leaseMs, 30_000);
  const retentionMs = positiveInt('retentionMs', options.retentionMs, 3_600_000, 0);
  const backoff = options.backoff ?? exponential({ baseMs: 500, maxMs: 60_000 });
  const clock = options.clock ?? wallClock;
  const store: RelayStore = outbox[RELAY_STORE]({ pool: options.pool, clock, retentionMs });
  const owner = randomUUID();

  const publishedListeners = new Set<(e: OutboxPublishedEvent) => void>();
  const errorListeners = new Set<(e: OutboxErrorEvent) => void>();
  const emit = <E>(listeners: Set<(e: E) => void>, event: E) => {
    for (const l of listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure must not stop the relay.
      }
    }
  };

  let running = false;
  let unwatch: (() => Promise<void>) | undefined;
  let timer: unknown;
  let idleDelay = minPollMs;
  let lastPrune = Number.NEGATIVE_INFINITY;
  // Rounds run one at a time; a wake-up during a round queues one more.
  let chain: Promise<unknown> = Promise.resolve();
  let queued: Promise<FlushResult> | undefined;

  /** Publishes one claimed batch; returns [published, failed]. */
  const publishClaimed = async (rows: ClaimedRow[]): Promise<[number, number]> => {
    let published = 0;
    let failedCount = 0;
    const failedKeys = new Set<string>();
    const held: number[] = [];
    const fail = async (unit: readonly ClaimedRow[], error: unknown) => {
      const attempts = Math.max(...unit.map((r) => r.attempts)) + 1;
      const retryAt = clock.now() + Math.max(0, backoff.delayMs(attempts, undefined));
      for (const r of unit) if (r.orderingKey !== null) failedKeys.add(r.orderingKey);
      failedCount += unit.length;
      await store.markFailed(
        owner,
        unit.map((r) => r.seq),
        retryAt,
        errorMessage(error),
      );
      emit(errorListeners, { stage: 'publish', error, ids: unit.map((r) => r.id), attempts, retryAt });
    };
    const succeed = async (topic: string, unit: readonly ClaimedRow[]) => {
      await store.markSent(
        owner,
        unit.map((r) => r.seq),
        clock.now(),
      );
      published += unit.length;
      emit(publishedListeners, { topic, ids: unit.map((r) => r.id) });
    };
    for (const wave of planWaves(rows)) {
      for (const [topic, all] of wave) {
        // A key that failed earlier in this claim holds back its later rows.
        const batch = all.filter((r) => {
          if (r.orderingKey !== null && failedKeys.has(r.orderingKey)) {
            held.push(r.seq);
            return false;
          }
          return true;
        });
        if (batch.length === 0) continue;
        try {
          await bus.publishBatch(batch.map(entryOf));
          await succeed(topic, batch);
          continue;
        } catch (e) {
          const units = unitsOf(batch);
          if (units.length === 1) {
            await fail(batch, e);
            continue;
          }
        }
        // The batch failed: publish key by key so one bad key does not block the others.
        for (const unit of unitsOf(batch)) {
          try {
            await bus.publishBatch(unit.map(entryOf));
          } catch (e) {
            await fail(unit, e);
            continue;
          }
          await succeed(topic, unit);
        }
      }
    }
    if (held.length > 0) await store.release(owner, held);
    return [published, failedCount];
  };

  /** Claims and publishes until nothing is claimable (or the relay stops, unless flushing). */
  const drain = async (flushing: boolean): Promise<FlushResult> => {
    let published = 0;
    let failed = 0;
    for (;;) {
      if (!flushing && !running) break;
      const rows = await store.claim(owner, clock.now(), leaseMs, batchSize);
      if (rows.length === 0) break;
      const [p, f] = await publishClaimed(rows);
      published += p;
      failed += f;
    }
    const now = clock.now();
    if (now - lastPrune >= PRUNE_EVERY_MS && retentionMs > 0) {
      lastPrune = now;
      // Housekeeping: a failure is reported, never fails the round that published.
      await store
        .prune(now - retentionMs, PRUNE_LIMIT)
        .catch((error: unknown) => emit(errorListeners, { stage: 'store', error, ids: [] }));
    }
    return { published, failed };
  };

  const runRound = (flushing: boolean): Promise<FlushResult> => {
    const round = chain.then(() => {
      if (!flushing) queued = undefined;
      return drain(flushing);
    });
    chain = round.catch(() => undefined);
    return round;
  };

  const schedule = (delayMs: number) => {
    if (!running) return;
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = clock.setTimeout(
      () => {
        timer = undefined;
        wake();
      },
      Math.max(0, delayMs),
    );
  };

  /** Runs a round (coalescing wake-ups that arrive before it starts), then schedules the next poll. */
  const wake = () => {
    if (!running || queued) return;
    const round = runRound(false);
    queued = round;
    round.then(
      async (result) => {
        idleDelay = result.published > 0 ? minPollMs : Math.min(idleDelay * 2, pollMs);
        let delay = idleDelay;
        const now = clock.now();
        const due = await store.nextDue(now).catch(() => undefined);
        if (due !== undefined) delay = Math.min(delay, due - now);
        schedule(delay);
      },
      (error: unknown) => {
        emit(errorListeners, { stage: 'store', error, ids: [] });
        idleDelay = Math.min(idleDelay * 2, pollMs);
        schedule(idleDelay);
      },
    );
  };

  return {
    async start() {
      if (running) return;
      running = true;
      idleDelay = minPollMs;
      try {
        unwatch = await store.watch(
          () => {
            idleDelay = minPollMs;
            if (timer !== undefined) {
              clock.clearTimeout(timer);
              timer = undefined;
            }
            wake();
          },
          (error) => emit(errorListeners, { stage: 'listen', error, ids: [] }),
        );
      } catch (e) {
        running = false;
        throw e;
      }
      wake();
    },
    async stop() {
      if (!running) {
        await chain;
        return;
      }
      running = false;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      const off = unwatch;
      unwatch = undefined;
      await off?.();
      await chain;
    },
    flush: () => runRound(true),
    onPublished(listener) {
      publishedListeners.add(listener);
      return () => {
        publishedListeners.delete(listener);
      };
    },
    onError(listener) {
      errorListeners.add(listener);
      return () => {
        errorListeners.delete(listener);
      };
    },
  };
}
