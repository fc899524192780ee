import { assertDeadLetterFilter as checkFilter } from '../dead-letter-filter.js';
import type { DeadLetter, DeadLetterStore, Priority } from '../transport.js';
import { type DeadLetterRow, EmbeddedStore } from './embedded-store.js';
import { PRIORITY_NAME } from './schema.js';

function toDeadLetter(r: DeadLetterRow): DeadLetter {
  return {
    id: r.id,
    topic: r.topic,
    group: r.grp,
    body: new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength),
    headers: r.headers === null ? {} : (JSON.parse(r.headers) as Record<string, string>),
    priority: PRIORITY_NAME[r.priority] as Priority,
    orderingKey: r.okey ?? undefined,
    error: r.error,
    reason: r.reason,
    attempts: r.attempts,
    publishedAt: new Date(r.published_at),
    deadLetteredAt: new Date(r.dead_at),
  };
}

/**
 * The DLQ of the embedded transport: rows of `sluice_dead_letters`. Replay
 * moves rows back into `sluice_deliveries` (as new, ready rows with attempt
 * counting from 1 again) in the same transaction that deletes them here.
 */
export function embeddedDeadLetters(
  store: EmbeddedStore,
  guard: () => void,
  onReplayed: (topics: ReadonlySet<string>) => void,
): DeadLetterStore {
  const { db } = store;
  return {
    async list(filter = {}) {
      guard();
      checkFilter(filter);
      const w = EmbeddedStore.dlqWhere(filter);
      const rows = db
        .prepare(`SELECT * FROM sluice_dead_letters ${w.sql} ORDER BY dead_at, seq LIMIT ? OFFSET ?`)
        .all(...w.params, filter.limit ?? 100, filter.offset ?? 0) as DeadLetterRow[];
      return rows.map(toDeadLetter);
    },
    async get(topic, group, id) {
      guard();
      const row = db
        .prepare('SELECT * FROM sluice_dead_letters WHERE topic = ? AND grp = ? AND id = ?')
        .get(topic, group, id) as DeadLetterRow | undefined;
      return row === undefined ? undefined : toDeadLetter(row);
    },
    async count(filter = {}) {
      guard();
      checkFilter(filter);
      const w = EmbeddedStore.dlqWhere(filter);
      return (
        db.prepare(`SELECT count(*) AS n FROM sluice_dead_letters ${w.sql}`).get(...w.params) as { n: number }
      ).n;
    },
    async replay(filter = {}) {
      guard();
      checkFilter(filter);
      const w = EmbeddedStore.dlqWhere(filter);
      const topics = new Set<string>();
      let n = 0;
      await store.enqueue(() => {
        const now = Date.now();
        const rows = db
          .prepare(`SELECT seq, topic FROM sluice_dead_letters ${w.sql} ORDER BY dead_at, seq`)
          .all(...w.params) as Array<{ seq: number; topic: string }>;
        const move = db.prepare(
          `INSERT INTO sluice_deliveries (topic, grp, id, body, headers, priority, okey, published_at, due_at, owner, attempt)
           SELECT topic, grp, id, body, headers, priority, okey, published_at, ?, NULL, 0
           FROM sluice_dead_letters WHERE seq = ?`,
        );
        const del = db.prepare('DELETE FROM sluice_dead_letters WHERE seq = ?');
        n = 0;
        for (const r of rows) {
          move.run(now, r.seq);
          del.run(r.seq);
          topics.add(r.topic);
          n++;
        }
      });
      if (topics.size > 0) onReplayed(topics);
      return n;
    },
    async purge(filter = {}) {
      guard();
      checkFilter(filter);
      const w = EmbeddedStore.dlqWhere(filter);
      let n = 0;
      await store.enqueue(() => {
        n = db.prepare(`DELETE FROM sluice_dead_letters ${w.sql}`).run(...w.params).changes;
      });
      return n;
    },
  };
}
