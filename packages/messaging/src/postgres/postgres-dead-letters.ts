import { assertDeadLetterFilter } from '../dead-letter-filter.js';
import { PRIORITY_NAME } from '../priority-rank.js';
import type { DeadLetter, DeadLetterFilter, DeadLetterStore, Priority } from '../transport.js';
import { DeliveryState } from './postgres-schema.js';
import { type PostgresStore, storeError } from './postgres-store.js';

/** A row of `dead_letters`. */
interface DeadLetterRow {
  readonly topic: string;
  readonly grp: string;
  readonly id: string;
  readonly body: Buffer;
  readonly headers: Record<string, string> | null;
  readonly priority: number;
  readonly okey: string | null;
  readonly published_at: Date;
  readonly attempts: number;
  readonly error: string;
  readonly reason: string;
  readonly dead_at: Date;
}

function toDeadLetter(r: DeadLetterRow): DeadLetter {
  return {
    id: r.id,
    topic: r.topic,
    group: r.grp,
    body: new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength),
    headers: r.headers ?? {},
    priority: PRIORITY_NAME[r.priority] as Priority,
    orderingKey: r.okey ?? undefined,
    error: r.error,
    reason: r.reason,
    attempts: r.attempts,
    publishedAt: r.published_at,
    deadLetteredAt: r.dead_at,
  };
}

/** `WHERE` clause of a DLQ filter, its parameters numbered from `$1`. */
function where(filter: DeadLetterFilter): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter.topic !== undefined) {
    params.push(filter.topic);
    parts.push(`topic = $${params.length}`);
  }
  if (filter.group !== undefined) {
    params.push(filter.group);
    parts.push(`grp = $${params.length}`);
  }
  if (filter.ids !== undefined) {
    params.push(filter.ids);
    parts.push(`id = ANY($${params.length}::text[])`);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/** Runs a DLQ query, wrapping driver failures as `unavailable`. */
async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw storeError(e);
  }
}

/**
 * The DLQ of the PostgreSQL transport: rows of `dead_letters`. Replay moves
 * rows back into `deliveries` (as new rows with attempt counting from 1 again,
 * behind any unsettled row of their ordering key) in the same transaction that
 * deletes them here, and wakes the topics' consumers at commit.
 */
export function postgresDeadLetters(
  store: PostgresStore,
  guard: () => void,
  onReplayed: (topics: ReadonlySet<string>) => void,
): DeadLetterStore {
  const { pool } = store;
  const { dead, deliveries } = store.tables;
  return {
    async list(filter = {}) {
      guard();
      assertDeadLetterFilter(filter);
      const w = where(filter);
      const n = w.params.length;
      const { rows } = await guarded(() =>
        pool.query<DeadLetterRow>(
          `SELECT * FROM ${dead} ${w.sql} ORDER BY dead_at, seq LIMIT $${n + 1} OFFSET $${n + 2}`,
          [...w.params, filter.limit ?? 100, filter.offset ?? 0],
        ),
      );
      return rows.map(toDeadLetter);
    },
    async get(topic, group, id) {
      guard();
      const { rows } = await guarded(() =>
        pool.query<DeadLetterRow>(`SELECT * FROM ${dead} WHERE topic = $1 AND grp = $2 AND id = $3`, [
          String(topic),
          String(group),
          String(id),
        ]),
      );
      return rows[0] === undefined ? undefined : toDeadLetter(rows[0]);
    },
    async count(filter = {}) {
      guard();
      assertDeadLetterFilter(filter);
      const w = where(filter);
      const { rows } = await guarded(() =>
        pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${dead} ${w.sql}`, w.params),
      );
      return Number(rows[0]?.n ?? 0);
    },
    async replay(filter = {}) {
      guard();
      assertDeadLetterFilter(filter);
      const w = where(filter);
      const { BLOCKED, READY } = DeliveryState;
      const topics = await guarded(() =>
        store.transaction(async (c) => {
          // Keyed rows go behind their key's unsettled rows: take the keys' locks first (as publish does).
          const keys = await c.query<{ topic: string; okey: string }>(
            `SELECT DISTINCT topic, okey FROM ${dead} ${w.sql}${w.sql ? ' AND' : ' WHERE'} okey IS NOT NULL`,
            w.params,
          );
          if (keys.rows.length > 0) {
            const [sql, params] = store.lockKeysFor(keys.rows);
            await c.query(sql, params);
          }
          const moved = await c.query<{ topic: string }>(
            `WITH moved AS (DELETE FROM ${dead} ${w.sql} RETURNING *),
             ranked AS (
               SELECT m.*, row_number() OVER (PARTITION BY m.topic, m.grp, m.okey ORDER BY m.dead_at, m.seq) AS rn
               FROM moved m)
             INSERT INTO ${deliveries} (topic, grp, id, body, headers, priority, okey, published_at, due_at, state)
             SELECT r.topic, r.grp, r.id, r.body, r.headers, r.priority, r.okey, r.published_at, now(),
                    CASE WHEN r.okey IS NOT NULL AND (r.rn > 1 OR EXISTS (
                      SELECT 1 FROM ${deliveries} e WHERE e.topic = r.topic AND e.grp = r.grp AND e.okey = r.okey))
                    THEN ${BLOCKED} ELSE ${READY} END
             FROM ranked r ORDER BY r.dead_at, r.seq
             RETURNING topic`,
            w.params,
          );
          const touched = new Set(moved.rows.map((r) => r.topic));
          if (touched.size > 0)
            await c.query('SELECT pg_notify($1, t) FROM unnest($2::text[]) AS t', [
              store.channel,
              [...touched],
            ]);
          return { touched, n: moved.rowCount ?? 0 };
        }),
      );
      if (topics.touched.size > 0) onReplayed(topics.touched);
      return topics.n;
    },
    async purge(filter = {}) {
      guard();
      assertDeadLetterFilter(filter);
      const w = where(filter);
      const r = await guarded(() => pool.query(`DELETE FROM ${dead} ${w.sql}`, w.params));
      return r.rowCount ?? 0;
    },
  };
}
