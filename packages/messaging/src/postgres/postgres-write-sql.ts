import { PRIORITY_RANK } from '../priority-rank.js';
import type { OutgoingMessage } from '../transport.js';
import { DeliveryState } from './postgres-schema.js';

const { READY, WAITING, CLAIMED, BLOCKED } = DeliveryState;

/** Identifies one claim of one row: settles and renewals match all three, so a lost lease changes nothing. */
export interface ClaimToken {
  readonly seq: string;
  readonly attempt: number;
  readonly owner: string;
}

/** One write of the group commit (see `PostgresStore.enqueue`). */
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

/** SQL text and its parameters. */
export type Statement = [string, unknown[]];

/** How to commit a batch: one autocommit statement, or statements in one transaction. */
export type WritePlan = { readonly single: Statement } | { readonly transaction: Statement[] };

/** The quoted, schema-qualified tables the statements use. */
export interface WriteTables {
  readonly groups: string;
  readonly deliveries: string;
  readonly dead: string;
}

/** NOTIFY payload suffix: the topic has rows whose due time its consumers may not know. */
export const DUE_SUFFIX = '@due';

/** Renumbers `$n` placeholders by `offset` (to nest a statement in a larger one). */
function shiftParams(sql: string, offset: number): string {
  return offset === 0 ? sql : sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
}

/**
 * The advisory-lock key of an ordering key: publishes and settles of one
 * (topic, key) take it for their transaction, so a row is never inserted as
 * BLOCKED behind a head whose settle cannot see it (see decision 019).
 */
export function keyLockText(topic: string, okey: string): string {
  return `${topic}\u0001${okey}`;
}

/**
 * The SQL of the PostgreSQL transport's writes — publish fan-out, settles,
 * retries, releases, lease renewals — each statement over arrays, so a batch
 * of any size is a handful of statements, and the plan that commits a batch.
 */
export class WriteSql {
  constructor(
    private readonly tables: WriteTables,
    /** The LISTEN/NOTIFY channel of the schema. */
    private readonly channel: string,
  ) {}

  /**
   * Plans the statements of a batch of writes: one statement of
   * data-modifying CTEs (autocommit) when no ordering key is involved, else a
   * transaction that takes the keys' locks first. `undefined`: nothing to do.
   */
  plan(writes: readonly StoreWrite[]): WritePlan | undefined {
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
      for (const [topic, messages] of publishes) add(this.insert(topic, messages));
      if (dead.length > 0) add(this.deadLetter(dead));
      if (deletes.length > 0) add(this.delete(deletes, false));
      if (retries.length > 0) add(this.retry(retries));
      if (releases.length > 0) add(this.release(releases));
      if (renewing.length > 0) add(this.renew(renewing));
      if (parts.length === 0) return undefined;
      let tail = 'SELECT 1';
      if (notifyPayloads.length > 0) {
        // NOTIFY is delivered at commit, so listeners never wake before the rows are visible.
        params.push(this.channel, notifyPayloads);
        tail = `SELECT pg_notify($${params.length - 1}, t) FROM unnest($${params.length}::text[]) AS t`;
      }
      return { single: [`WITH ${parts.join(',\n')}\n${tail}`, params] };
    }
    // Ordering keys: take their locks first, then each write in its own statement, so that
    // a key's next row inserted here is seen by the promotion after a settle of its head.
    const statements: Statement[] = [this.lockKeys([...lockKeys])];
    for (const [topic, messages] of publishes) statements.push(this.insert(topic, messages));
    if (dead.length > 0) statements.push(this.deadLetter(dead));
    if (deletes.length > 0) statements.push(this.delete(deletes, true));
    if (retries.length > 0) statements.push(this.retry(retries));
    if (releases.length > 0) statements.push(this.release(releases));
    if (renewing.length > 0) statements.push(this.renew(renewing));
    if (notifyPayloads.length > 0)
      statements.push([
        'SELECT pg_notify($1, t) FROM unnest($2::text[]) AS t',
        [this.channel, notifyPayloads],
      ]);
    return { transaction: statements };
  }

  /** Takes the advisory locks of ordering keys in one sorted order (no deadlock between two batches). */
  lockKeys(keys: string[]): Statement {
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
  private insert(topic: string, messages: readonly OutgoingMessage[]): Statement {
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
    const d = this.tables.deliveries;
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
       FROM ${this.tables.groups} g,
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
  private deadLetter(ws: ReadonlyArray<Extract<StoreWrite, { kind: 'dead' }>>): Statement {
    const [seqs, attempts, owners] = WriteSql.tokens(ws);
    return [
      `INSERT INTO ${this.tables.dead}
         (topic, grp, id, body, headers, priority, okey, published_at, attempts, error, reason, dead_at)
       SELECT d.topic, d.grp, d.id, d.body, d.headers, d.priority, d.okey, d.published_at, d.attempt,
              t.error, t.reason, now()
       FROM ${this.tables.deliveries} d
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
  private delete(ws: ReadonlyArray<{ token: ClaimToken }>, promote: boolean): Statement {
    const [seqs, attempts, owners] = WriteSql.tokens(ws);
    const d = this.tables.deliveries;
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

  private retry(ws: ReadonlyArray<Extract<StoreWrite, { kind: 'retry' }>>): Statement {
    const [seqs, attempts, owners] = WriteSql.tokens(ws);
    return [
      `UPDATE ${this.tables.deliveries} d
       SET state = CASE WHEN t.delay > 0 THEN ${WAITING} ELSE ${READY} END, owner = NULL,
           due_at = now() + t.delay * interval '1 millisecond'
       FROM unnest($1::bigint[], $2::int[], $3::uuid[], $4::float8[]) AS t(seq, attempt, owner, delay)
       WHERE d.seq = t.seq AND d.attempt = t.attempt AND d.owner = t.owner AND d.state = ${CLAIMED}`,
      [seqs, attempts, owners, ws.map((w) => w.delayMs)],
    ];
  }

  /** Gives claimed rows back at once (graceful stop with a handler still running). */
  private release(ws: ReadonlyArray<{ token: ClaimToken }>): Statement {
    const [seqs, attempts, owners] = WriteSql.tokens(ws);
    return [
      `UPDATE ${this.tables.deliveries} d SET state = ${READY}, owner = NULL, due_at = now()
       FROM unnest($1::bigint[], $2::int[], $3::uuid[]) AS t(seq, attempt, owner)
       WHERE d.seq = t.seq AND d.attempt = t.attempt AND d.owner = t.owner AND d.state = ${CLAIMED}`,
      [seqs, attempts, owners],
    ];
  }

  private renew(ws: ReadonlyArray<Extract<StoreWrite, { kind: 'renew' }>>): Statement {
    const [seqs, attempts, owners] = WriteSql.tokens(ws);
    return [
      `UPDATE ${this.tables.deliveries} d SET due_at = now() + t.lease * interval '1 millisecond'
       FROM unnest($1::bigint[], $2::int[], $3::uuid[], $4::float8[]) AS t(seq, attempt, owner, lease)
       WHERE d.seq = t.seq AND d.attempt = t.attempt AND d.owner = t.owner AND d.state = ${CLAIMED}`,
      [seqs, attempts, owners, ws.map((w) => w.leaseMs)],
    ];
  }
}
