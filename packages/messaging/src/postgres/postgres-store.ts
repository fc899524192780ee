import type pg from 'pg';
import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import { DeliveryState, schemaSql, tableName } from './postgres-schema.js';
import { keyLockText, type StoreWrite, WriteSql } from './postgres-write-sql.js';

const { READY, WAITING, CLAIMED } = DeliveryState;

/** A row of `deliveries` as a claim returns it (`seq` is a bigint, kept as its decimal string). */
export interface ClaimedRow {
  readonly seq: string;
  readonly id: string;
  readonly body: Buffer;
  readonly headers: Record<string, string> | null;
  readonly priority: number;
  readonly okey: string | null;
  readonly published_at: Date;
  readonly attempt: number;
}

interface Queued {
  readonly write: StoreWrite;
  resolve(): void;
  reject(e: unknown): void;
}

/** One group-commit queue. */
class Lane {
  constructor(
    /** The pool it commits on. */
    readonly pool: pg.Pool,
  ) {}
  queue: Queued[] = [];
  flushing = false;
  idleWaiters: Array<() => void> = [];
}

/** A short stable hash of a statement's text, for its prepared-statement name. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/** Wraps a driver failure (connection refused or lost, statement error) as `unavailable`. */
export function storeError(cause: unknown): Error {
  const message = cause instanceof Error ? cause.message : String(cause);
  return messagingError(
    'unavailable',
    MessagingReasons.TRANSPORT_UNAVAILABLE,
    `postgres transport: ${message}`,
    undefined,
    cause,
  );
}

/** PostgreSQL errors worth running the same transaction again for: deadlock, serialization failure. */
function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/**
 * The SQL of the PostgreSQL transport over one `pg.Pool`, plus a group
 * commit: the writes queued while a transaction is in flight (acks of many
 * handlers, renewals, concurrent publishes) commit together in the next one,
 * a few statements whatever their number.
 */
export class PostgresStore {
  private readonly t: {
    readonly groups: string;
    readonly deliveries: string;
    readonly dead: string;
  };
  /**
   * Two group-commit lanes, each with at most one transaction in flight:
   * publishes, and settles/renewals. Publishers never wait behind a batch of
   * acks (or the reverse); rows of one ordering key are still serialised by
   * the key's advisory lock, whichever lane writes them.
   */
  private readonly lanes: { readonly publish: Lane; readonly settle: Lane };
  /** Names of prepared statements, by SQL text. */
  private readonly names = new Map<string, string>();
  private readonly sql: WriteSql;

  constructor(
    /**
     * Claims, settles, renewals, stats and DLQ reads; its connections may
     * commit with `synchronous_commit=off` (see `asyncSettles`).
     */
    readonly pool: pg.Pool,
    /** Publishes, DLQ replays and schema creation: always committed durably. */
    readonly durablePool: pg.Pool,
    readonly schema: string,
    /** The LISTEN/NOTIFY channel of this schema. */
    readonly channel: string,
  ) {
    this.lanes = { publish: new Lane(durablePool), settle: new Lane(pool) };
    this.t = {
      groups: tableName(schema, 'groups'),
      deliveries: tableName(schema, 'deliveries'),
      dead: tableName(schema, 'dead_letters'),
    };
    this.sql = new WriteSql(this.t, channel);
  }

  /** Creates the schema and tables if missing (idempotent, safe with several processes at once). */
  async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      // Serialises concurrent first starts: CREATE … IF NOT EXISTS is not atomic in the catalog.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `sluice-migrate:${this.schema}`,
      ]);
      await c.query(schemaSql(this.schema));
    });
  }

  /** Runs `fn` in one transaction on a client of `on` (the durable pool by default), again on a deadlock. */
  async transaction<T>(
    fn: (client: pg.PoolClient) => Promise<T>,
    on: pg.Pool = this.durablePool,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await on.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const out = await fn(client);
        await client.query('COMMIT');
        return out;
      } catch (e) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        if (attempt < 3 && isTransient(e)) continue;
        throw e;
      } finally {
        client.release(broken);
      }
    }
  }

  async declareGroup(topic: string, group: string): Promise<void> {
    await this.durablePool.query(
      `INSERT INTO ${this.t.groups} (topic, grp) VALUES ($1, $2) ON CONFLICT (topic, grp) DO NOTHING`,
      [topic, group],
    );
  }

  /**
   * Queues a write for the next group commit of its lane; resolves once it is
   * committed. Writes queued while a commit is in flight go into the next one.
   */
  enqueue(write: StoreWrite): Promise<void> {
    const lane = write.kind === 'publish' ? this.lanes.publish : this.lanes.settle;
    return new Promise<void>((resolve, reject) => {
      lane.queue.push({ write, resolve, reject });
      if (!lane.flushing) {
        lane.flushing = true;
        queueMicrotask(() => void this.flushLoop(lane));
      }
    });
  }

  /** Resolves when every queued write has been committed (or failed). */
  async drained(): Promise<void> {
    for (const lane of [this.lanes.publish, this.lanes.settle])
      if (lane.flushing || lane.queue.length > 0) await new Promise<void>((r) => lane.idleWaiters.push(r));
  }

  private async flushLoop(lane: Lane): Promise<void> {
    while (lane.queue.length > 0) {
      const batch = lane.queue;
      lane.queue = [];
      try {
        await this.commit(
          batch.map((b) => b.write),
          lane.pool,
        );
        for (const b of batch) b.resolve();
      } catch (e) {
        if (batch.length === 1) (batch[0] as Queued).reject(storeError(e));
        // One bad write must not fail its neighbours: commit each on its own.
        else
          for (const b of batch)
            await this.commit([b.write], lane.pool).then(b.resolve, (err: unknown) =>
              b.reject(storeError(err)),
            );
      }
    }
    lane.flushing = false;
    for (const resolve of lane.idleWaiters.splice(0)) resolve();
  }

  /** Commits a batch of writes on `pool` as {@link WriteSql.plan} says. */
  private async commit(writes: readonly StoreWrite[], pool: pg.Pool): Promise<void> {
    const plan = this.sql.plan(writes);
    if (plan === undefined) return;
    if ('single' in plan) {
      await this.run(pool, ...plan.single);
      return;
    }
    await this.transaction(async (c) => {
      for (const [text, values] of plan.transaction) await this.run(c, text, values);
    }, pool);
  }

  /**
   * Runs a statement as a named prepared statement (parsed and planned once
   * per connection), again on a deadlock when outside a transaction.
   */
  private async run(on: pg.Pool | pg.PoolClient, text: string, values: unknown[]): Promise<pg.QueryResult> {
    let name = this.names.get(text);
    if (name === undefined) {
      name = `sluice_${this.names.size}_${fnv1a(text)}`;
      this.names.set(text, name);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await on.query({ name, text, values });
      } catch (e) {
        const outsideTransaction = on === this.pool || on === this.durablePool;
        if (outsideTransaction && attempt < 3 && isTransient(e)) continue;
        throw e;
      }
    }
  }

  /**
   * Claims up to `limit` ready rows of a group for `owner` with a lease of
   * `leaseMs`: the partial index on READY rows gives them in hand-out order
   * (priority, then publish order); `SKIP LOCKED` lets competing consumers
   * claim disjoint rows at once without waiting for each other.
   */
  async claim(
    topic: string,
    group: string,
    owner: string,
    leaseMs: number,
    limit: number,
  ): Promise<ClaimedRow[]> {
    const d = this.t.deliveries;
    const { rows } = (await this.run(
      this.pool,
      `WITH c AS (
         SELECT seq FROM ${d}
         WHERE topic = $1 AND grp = $2 AND state = ${READY}
         ORDER BY priority, seq
         LIMIT $5
         FOR UPDATE SKIP LOCKED)
       UPDATE ${d} d SET state = ${CLAIMED}, owner = $3, attempt = d.attempt + 1,
                         due_at = clock_timestamp() + $4 * interval '1 millisecond'
       FROM c WHERE d.seq = c.seq
       RETURNING d.seq, d.id, d.body, d.headers, d.priority, d.okey, d.published_at, d.attempt`,
      [topic, group, owner, leaseMs, limit],
    )) as pg.QueryResult<ClaimedRow>;
    // RETURNING gives rows in no particular order: hand them out by priority, then publish order.
    if (rows.length > 1)
      rows.sort((a, b) => a.priority - b.priority || (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
    return rows;
  }

  /**
   * Makes due rows of a group READY: WAITING rows whose time has come and
   * CLAIMED rows whose lease expired (their consumer died or stalled). Returns
   * in how many ms the next WAITING/CLAIMED row falls due (`undefined`: none).
   */
  async promoteDue(topic: string, group: string): Promise<number | undefined> {
    const d = this.t.deliveries;
    const { rows } = (await this.run(
      this.pool,
      `WITH due AS (
         SELECT seq FROM ${d}
         WHERE topic = $1 AND grp = $2 AND state IN (${WAITING}, ${CLAIMED}) AND due_at <= now()
         FOR UPDATE SKIP LOCKED),
       promoted AS (
         UPDATE ${d} d SET state = ${READY}, owner = NULL FROM due WHERE d.seq = due.seq RETURNING 1)
       SELECT (SELECT count(*) FROM promoted) AS n,
              (SELECT GREATEST(0, extract(epoch FROM min(due_at) - clock_timestamp()) * 1000)::float8
               FROM ${d} WHERE topic = $1 AND grp = $2 AND state IN (${WAITING}, ${CLAIMED})
                 AND due_at > now()) AS next_ms`,
      [topic, group],
    )) as pg.QueryResult<{ next_ms: number | null }>;
    const next = rows[0]?.next_ms;
    return next === null || next === undefined ? undefined : Math.ceil(next);
  }

  async stats(
    topic?: string,
  ): Promise<Array<{ topic: string; grp: string; pending: number; in_flight: number; dead: number }>> {
    const { rows } = await this.pool.query<{
      topic: string;
      grp: string;
      pending: string;
      in_flight: string;
      dead: string;
    }>(
      `SELECT g.topic, g.grp,
         (SELECT count(*) FROM ${this.t.deliveries} d
          WHERE d.topic = g.topic AND d.grp = g.grp AND d.state <> ${CLAIMED}) AS pending,
         (SELECT count(*) FROM ${this.t.deliveries} d
          WHERE d.topic = g.topic AND d.grp = g.grp AND d.state = ${CLAIMED}) AS in_flight,
         (SELECT count(*) FROM ${this.t.dead} x WHERE x.topic = g.topic AND x.grp = g.grp) AS dead
       FROM ${this.t.groups} g
       WHERE $1::text IS NULL OR g.topic = $1
       ORDER BY g.topic, g.grp`,
      [topic ?? null],
    );
    return rows.map((r) => ({
      topic: r.topic,
      grp: r.grp,
      pending: Number(r.pending),
      in_flight: Number(r.in_flight),
      dead: Number(r.dead),
    }));
  }

  /** SQL of the DLQ store: table names and the key-lock statement, shared with `postgres-dead-letters.ts`. */
  get tables(): { readonly groups: string; readonly deliveries: string; readonly dead: string } {
    return this.t;
  }

  /** The key-lock statement for replaying keyed dead letters. */
  lockKeysFor(pairs: ReadonlyArray<{ topic: string; okey: string }>): [string, unknown[]] {
    return this.sql.lockKeys(pairs.map((p) => keyLockText(p.topic, p.okey)));
  }
}
