import type pg from 'pg';
import { messagingError } from '../message-validation.js';
import { PRIORITY_RANK } from '../priority-rank.js';
import { MessagingReasons } from '../reasons.js';
import type { OutgoingMessage } from '../transport.js';
import { DeliveryState, schemaSql, tableName } from './postgres-schema.js';

const { READY, WAITING, CLAIMED, BLOCKED } = DeliveryState;

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

/** Identifies one claim of one row: settles and renewals match all three, so a lost lease changes nothing. */
export interface ClaimToken {
  readonly seq: string;
  readonly attempt: number;
  readonly owner: string;
}

/** One write of the group commit (see {@link PostgresStore.enqueue}). */
export type StoreWrite =
  | { readonly kind: 'publish'; readonly topic: string; readonly messages: readonly OutgoingMessage[] }
  | {
      readonly kind: 'ack';
      readonly token: ClaimToken;
      readonly topic: string;
      readonly keyed: string | null;
    }
  | {
      readonly kind: 'dead';
      readonly token: ClaimToken;
      readonly topic: string;
      readonly keyed: string | null;
      readonly error: string;
      readonly reason: string;
    }
  | { readonly kind: 'retry'; readonly token: ClaimToken; readonly topic: string; readonly delayMs: number }
  | { readonly kind: 'release'; readonly token: ClaimToken; readonly topic: string }
  | { readonly kind: 'renew'; readonly token: ClaimToken; readonly leaseMs: number };

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

/** NOTIFY payload suffix: the topic has rows whose due time its consumers may not know. */
export const DUE_SUFFIX = '@due';

/** Renumbers `$n` placeholders by `offset` (to nest a statement in a larger one). */
function shiftParams(sql: string, offset: number): string {
  return offset === 0 ? sql : sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
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
 * The advisory-lock key of an ordering key: publishes and settles of one
 * (topic, key) take it for their transaction, so a row is never inserted as
 * BLOCKED behind a head whose settle cannot see it (see decision 019).
 */
function keyLockText(topic: string, okey: string): string {
  return `${topic}\u0001${okey}`;
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

  /** Commits a batch of writes in one transaction: a handful of statements, each over arrays. */
  private async commit(writes: readonly StoreWrite[], pool: pg.Pool): Promise<void> {
    const publishes = new Map<string, OutgoingMessage[]>();
    const deletes: Array<Extract<StoreWrite, { kind: 'ack' | 'dead' }>> = [];
    const dead: Array<Extract<StoreWrite, { kind: 'dead' }>> = [];
    const retries: Array<Extract<StoreWrite, { kind: 'retry' }>> = [];
    const releases: Array<Extract<StoreWrite, { kind: 'release' }>> = [];
    const renewals: Array<Extract<StoreWrite, { kind: 'renew' }>> = [];
    const lockKeys = new Set<string>();
    /** Topics to NOTIFY, and whether their consumers should look at due times again. */
    const notify = new Map<string, boolean>();
    const touch = (topic: string, due: boolean) => notify.set(topic, (notify.get(topic) ?? false) || due);
    for (const w of writes) {
      switch (w.kind) {
        case 'publish': {
          let list = publishes.get(w.topic);
          if (!list) {
            list = [];
            publishes.set(w.topic, list);
          }
          for (const m of w.messages) {
            list.push(m);
            if (m.orderingKey !== undefined) lockKeys.add(keyLockText(w.topic, m.orderingKey));
          }
          touch(
            w.topic,
            w.messages.some((m) => m.deliverAt !== undefined),
          );
          break;
        }
        case 'dead':
          dead.push(w);
          deletes.push(w);
          if (w.keyed !== null) {
            lockKeys.add(keyLockText(w.topic, w.keyed));
            // The key's next row may be scheduled later: consumers look at due times again.
            touch(w.topic, true);
          }
          break;
        case 'ack':
          deletes.push(w);
          if (w.keyed !== null) {
            lockKeys.add(keyLockText(w.topic, w.keyed));
            // The key's next row may be scheduled later: consumers look at due times again.
            touch(w.topic, true);
          }
          break;
        case 'retry':
          retries.push(w);
          touch(w.topic, w.delayMs > 0);
          break;
        case 'release':
          releases.push(w);
          touch(w.topic, false);
          break;
        case 'renew':
          renewals.push(w);
          break;
      }
    }
    // A renewal of a row settled in the same batch would race its settle inside one statement: drop it.
    const settledSeqs = new Set<string>();
    for (const w of [...deletes, ...retries, ...releases]) settledSeqs.add(w.token.seq);
    const renewing = renewals.filter((w) => !settledSeqs.has(w.token.seq));
    const notifyPayloads = [...notify].map(([topic, due]) => (due ? `${topic}${DUE_SUFFIX}` : topic));

    if (lockKeys.size === 0) {
      // No ordering key involved: every write is independent of the others, so the
      // whole batch is one statement of data-modifying CTEs (one round trip, autocommit).
      const parts: string[] = [];
      const params: unknown[] = [];
      const add = ([sql, ps]: [string, unknown[]]) => {
        parts.push(`w${parts.length} AS (${shiftParams(sql, params.length)})`);
        params.push(...ps);
      };
      for (const [topic, messages] of publishes) add(this.insertSql(topic, messages));
      if (dead.length > 0) add(this.deadLetterSql(dead));
      if (deletes.length > 0) add(this.deleteSql(deletes, false));
      if (retries.length > 0) add(this.retrySql(retries));
      if (releases.length > 0) add(this.releaseSql(releases));
      if (renewing.length > 0) add(this.renewSql(renewing));
      if (parts.length === 0) return;
      let tail = 'SELECT 1';
      if (notifyPayloads.length > 0) {
        // NOTIFY is delivered at commit, so listeners never wake before the rows are visible.
        params.push(this.channel, notifyPayloads);
        tail = `SELECT pg_notify($${params.length - 1}, t) FROM unnest($${params.length}::text[]) AS t`;
      }
      await this.run(pool, `WITH ${parts.join(',\n')}\n${tail}`, params);
      return;
    }
    // Ordering keys: take their locks first, then each write in its own statement, so that
    // a key's next row inserted here is seen by the promotion after a settle of its head.
    const statements: Array<[string, unknown[]]> = [this.lockKeysSql([...lockKeys])];
    for (const [topic, messages] of publishes) statements.push(this.insertSql(topic, messages));
    if (dead.length > 0) statements.push(this.deadLetterSql(dead));
    if (deletes.length > 0) statements.push(this.deleteSql(deletes, true));
    if (retries.length > 0) statements.push(this.retrySql(retries));
    if (releases.length > 0) statements.push(this.releaseSql(releases));
    if (renewing.length > 0) statements.push(this.renewSql(renewing));
    if (notifyPayloads.length > 0)
      statements.push([
        'SELECT pg_notify($1, t) FROM unnest($2::text[]) AS t',
        [this.channel, notifyPayloads],
      ]);
    await this.transaction(async (c) => {
      for (const [sql, params] of statements) await this.run(c, sql, params);
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

  /** Takes the advisory locks of ordering keys in one sorted order (no deadlock between two batches). */
  private lockKeysSql(keys: string[]): [string, unknown[]] {
    return [
      `SELECT pg_advisory_xact_lock(h) FROM (
         SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS s`,
      [keys],
    ];
  }

  /**
   * Fan-out insert: one row per message per declared group, in publish order.
   * A keyed row is BLOCKED when an earlier row of its key is in the group
   * (still unsettled) or earlier in this batch; otherwise WAITING when
   * `deliverAt` is in the future, else READY.
   */
  private insertSql(topic: string, messages: readonly OutgoingMessage[]): [string, unknown[]] {
    const n = messages.length;
    const ids = new Array<string>(n);
    const bodies = new Array<Buffer>(n);
    const headers = new Array<string | null>(n);
    const priorities = new Array<number>(n);
    const keys = new Array<string | null>(n);
    const deliverAt = new Array<string | null>(n);
    const first = new Array<boolean>(n);
    const seenKeys = new Set<string>();
    messages.forEach((m, i) => {
      ids[i] = m.id;
      bodies[i] = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
      headers[i] = m.headers && Object.keys(m.headers).length > 0 ? JSON.stringify(m.headers) : null;
      priorities[i] = PRIORITY_RANK[m.priority ?? 'normal'];
      keys[i] = m.orderingKey ?? null;
      deliverAt[i] = m.deliverAt ? m.deliverAt.toISOString() : null;
      first[i] = m.orderingKey === undefined || !seenKeys.has(m.orderingKey);
      if (m.orderingKey !== undefined) seenKeys.add(m.orderingKey);
    });
    const d = this.t.deliveries;
    return [
      `INSERT INTO ${d} (topic, grp, id, body, headers, priority, okey, published_at, due_at, state)
       SELECT $1, g.grp, m.id, m.body, m.headers::jsonb, m.priority, m.okey, now(),
              GREATEST(now(), COALESCE(m.deliver_at, now())),
              CASE
                WHEN m.okey IS NOT NULL AND (NOT m.first OR EXISTS (
                  SELECT 1 FROM ${d} e WHERE e.topic = $1 AND e.grp = g.grp AND e.okey = m.okey)) THEN ${BLOCKED}
                WHEN m.deliver_at > now() THEN ${WAITING}
                ELSE ${READY}
              END
       FROM ${this.t.groups} g,
            unnest($2::text[], $3::bytea[], $4::text[], $5::int2[], $6::text[], $7::timestamptz[], $8::bool[])
              WITH ORDINALITY AS m(id, body, headers, priority, okey, deliver_at, first, ord)
       WHERE g.topic = $1
       ORDER BY m.ord, g.grp`,
      [topic, ids, bodies, headers, priorities, keys, deliverAt, first],
    ];
  }

  private static tokens(ws: ReadonlyArray<{ token: ClaimToken }>): [string[], number[], string[]] {
    return [ws.map((w) => w.token.seq), ws.map((w) => w.token.attempt), ws.map((w) => w.token.owner)];
  }

  /** Copies claimed rows into the DLQ (replacing an older dead letter of the same id). */
  private deadLetterSql(ws: ReadonlyArray<Extract<StoreWrite, { kind: 'dead' }>>): [string, unknown[]] {
    const [seqs, attempts, owners] = PostgresStore.tokens(ws);
    return [
      `INSERT INTO ${this.t.dead}
         (topic, grp, id, body, headers, priority, okey, published_at, attempts, error, reason, dead_at)
       SELECT d.topic, d.grp, d.id, d.body, d.headers, d.priority, d.okey, d.published_at, d.attempt,
              t.error, t.reason, now()
       FROM ${this.t.deliveries} d
       JOIN unnest($1::bigint[], $2::int[], $3::uuid[], $4::text[], $5::text[]) AS t(seq, attempt, owner, error, reason)
         ON d.seq = t.seq AND d.attempt = t.attempt AND d.owner = t.owner AND d.state = ${CLAIMED}
       ON CONFLICT (topic, grp, id) DO UPDATE SET
         body = excluded.body, headers = excluded.headers, priority = excluded.priority, okey = excluded.okey,
         published_at = excluded.published_at, attempts = excluded.attempts, error = excluded.error,
         reason = excluded.reason, dead_at = excluded.dead_at`,
      [seqs, attempts, owners, ws.map((w) => w.error), ws.map((w) => w.reason)],
    ];
  }

  /**
   * Deletes settled rows (ack, dead letter) and, for each keyed one, promotes
   * the next row of its key from BLOCKED to READY (or WAITING if it is
   * scheduled later). The promotion reads the snapshot from before the delete,
   * which is exactly right: the next row has a larger `seq` than the deleted head.
   */
  private deleteSql(ws: ReadonlyArray<{ token: ClaimToken }>, promote: boolean): [string, unknown[]] {
    const [seqs, attempts, owners] = PostgresStore.tokens(ws);
    const d = this.t.deliveries;
    if (!promote)
      return [
        `DELETE FROM ${d} d USING unnest($1::bigint[], $2::int[], $3::uuid[]) AS t(seq, attempt, owner)
         WHERE d.seq = t.seq AND d.attempt = t.attempt AND d.owner = t.owner AND d.state = ${CLAIMED}`,
        [seqs, attempts, owners],
      ];
    return [
      `WITH gone AS (
         DELETE FROM ${d} d USING unnest($1::bigint[], $2::int[], $3::uuid[]) AS t(seq, attempt, owner)
         WHERE d.seq = t.seq AND d.attempt = t.attempt AND d.owner = t.owner AND d.state = ${CLAIMED}
         RETURNING d.topic, d.grp, d.okey, d.seq),
       nxt AS (
         SELECT (SELECT e.seq FROM ${d} e
                 WHERE e.topic = g.topic AND e.grp = g.grp AND e.okey = g.okey AND e.seq > g.seq
                 ORDER BY e.seq LIMIT 1) AS seq
         FROM gone g WHERE g.okey IS NOT NULL)
       UPDATE ${d} d SET state = CASE WHEN d.due_at > now() THEN ${WAITING} ELSE ${READY} END
       FROM nxt WHERE d.seq = nxt.seq AND d.state = ${BLOCKED}`,
      [seqs, attempts, owners],
    ];
  }

  private retrySql(ws: ReadonlyArray<Extract<StoreWrite, { kind: 'retry' }>>): [string, unknown[]] {
    const [seqs, attempts, owners] = PostgresStore.tokens(ws);
    return [
      `UPDATE ${this.t.deliveries} d
       SET state = CASE WHEN t.delay > 0 THEN ${WAITING} ELSE ${READY} END, owner = NULL,
           due_at = now() + t.delay * interval '1 millisecond'
       FROM unnest($1::bigint[], $2::int[], $3::uuid[], $4::float8[]) AS t(seq, attempt, owner, delay)
       WHERE d.seq = t.seq AND d.attempt = t.attempt AND d.owner = t.owner AND d.state = ${CLAIMED}`,
      [seqs, attempts, owners, ws.map((w) => w.delayMs)],
    ];
  }

  /** Gives claimed rows back at once (graceful stop with a handler still running). */
  private releaseSql(ws: ReadonlyArray<{ token: ClaimToken }>): [string, unknown[]] {
    const [seqs, attempts, owners] = PostgresStore.tokens(ws);
    return [
      `UPDATE ${this.t.deliveries} d SET state = ${READY}, owner = NULL, due_at = now()
       FROM unnest($1::bigint[], $2::int[], $3::uuid[]) AS t(seq, attempt, owner)
       WHERE d.seq = t.seq AND d.attempt = t.attempt AND d.owner = t.owner AND d.state = ${CLAIMED}`,
      [seqs, attempts, owners],
    ];
  }

  private renewSql(ws: ReadonlyArray<Extract<StoreWrite, { kind: 'renew' }>>): [string, unknown[]] {
    const [seqs, attempts, owners] = PostgresStore.tokens(ws);
    return [
      `UPDATE ${this.t.deliveries} d SET due_at = now() + t.lease * interval '1 millisecond'
       FROM unnest($1::bigint[], $2::int[], $3::uuid[], $4::float8[]) AS t(seq, attempt, owner, lease)
       WHERE d.seq = t.seq AND d.attempt = t.attempt AND d.owner = t.owner AND d.state = ${CLAIMED}`,
      [seqs, attempts, owners, ws.map((w) => w.leaseMs)],
    ];
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
    return this.lockKeysSql(pairs.map((p) => keyLockText(p.topic, p.okey)));
  }
}
