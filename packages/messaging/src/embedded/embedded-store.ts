import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';
import type { DeadLetterFilter, OutgoingMessage } from '../transport.js';
import { PRIORITY_RANK, SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';

/** A row of `sluice_deliveries` as a claim returns it. */
export interface ClaimedRow {
  readonly seq: number;
  readonly id: string;
  readonly body: Buffer;
  readonly headers: string | null;
  readonly priority: number;
  readonly okey: string | null;
  readonly published_at: number;
  readonly attempt: number;
}

/** A row of `sluice_dead_letters`. */
export interface DeadLetterRow {
  readonly seq: number;
  readonly topic: string;
  readonly grp: string;
  readonly id: string;
  readonly body: Buffer;
  readonly headers: string | null;
  readonly priority: number;
  readonly okey: string | null;
  readonly published_at: number;
  readonly attempts: number;
  readonly error: string;
  readonly reason: string;
  readonly dead_at: number;
}

/** Options of {@link EmbeddedStore}. */
export interface EmbeddedStoreOptions {
  readonly synchronous: 'normal' | 'full';
  readonly busyTimeoutMs: number;
}

/** Wraps a SQLite failure (busy past the timeout, disk full, I/O error) as `unavailable`. */
export function storeError(cause: unknown): Error {
  const message = cause instanceof Error ? cause.message : String(cause);
  return messagingError(
    'unavailable',
    MessagingReasons.TRANSPORT_UNAVAILABLE,
    `embedded transport: ${message}`,
    undefined,
    cause,
  );
}

/**
 * The SQL of the embedded transport on one better-sqlite3 connection: every
 * statement prepared once, plus a group-commit queue so that the writes made
 * in one tick (acks of many handlers, concurrent publishes) share one
 * transaction (one WAL commit).
 */
export class EmbeddedStore {
  readonly db: Database.Database;
  private readonly queue: Array<{
    run: () => void;
    single: boolean;
    resolve: () => void;
    reject: (e: unknown) => void;
  }> = [];
  private flushScheduled = false;

  private readonly insertFanOut: Database.Statement;
  private readonly insertGroup: Database.Statement;
  private readonly claimStmt: Database.Statement;
  private readonly nextDueStmt: Database.Statement;
  private readonly ackStmt: Database.Statement;
  private readonly retryStmt: Database.Statement;
  private readonly renewStmt: Database.Statement;
  private readonly releaseStmt: Database.Statement;
  private readonly toDeadStmt: Database.Statement;
  private readonly statsAll: Database.Statement;
  private readonly statsTopic: Database.Statement;
  private readonly doorbellPorts: Database.Statement;
  private readonly transactionOf: (fns: Array<() => void>) => void;

  constructor(file: string, options: EmbeddedStoreOptions) {
    try {
      if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.db = new Database(file, { timeout: options.busyTimeoutMs });
    } catch (e) {
      throw storeError(e);
    }
    const db = this.db;
    try {
      db.pragma(`busy_timeout = ${Math.floor(options.busyTimeoutMs)}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.transaction(() => {
        db.exec(SCHEMA_SQL);
        db.prepare('INSERT OR IGNORE INTO sluice_meta (key, value) VALUES (?, ?)').run(
          'schema_version',
          String(SCHEMA_VERSION),
        );
      }).immediate();
    } catch (e) {
      // Not a database, locked past the timeout, read-only…: refuse to open, leave nothing open.
      db.close();
      throw storeError(e);
    }

    this.insertFanOut = db.prepare(
      `INSERT INTO sluice_deliveries (topic, grp, id, body, headers, priority, okey, published_at, due_at, owner, attempt)
       SELECT topic, grp, ?, ?, ?, ?, ?, ?, ?, NULL, 0 FROM sluice_groups WHERE topic = ?`,
    );
    this.insertGroup = db.prepare(
      'INSERT OR IGNORE INTO sluice_groups (topic, grp, created_at) VALUES (?, ?, ?)',
    );
    // A row is claimable when it is due (ready, scheduled time reached, or its
    // lease expired) and, if it has an ordering key, no earlier row of that key
    // is still in the group: so a key has at most one delivery out at a time,
    // in publish order, and a retried row (still present) blocks only its key.
    this.claimStmt = db.prepare(
      `UPDATE sluice_deliveries SET due_at = @leaseUntil, owner = @owner, attempt = attempt + 1
       WHERE seq IN (
         SELECT d.seq FROM sluice_deliveries d
         WHERE d.topic = @topic AND d.grp = @grp AND d.due_at <= @now
           AND (d.okey IS NULL OR NOT EXISTS (
             SELECT 1 FROM sluice_deliveries e
             WHERE e.topic = d.topic AND e.grp = d.grp AND e.okey = d.okey AND e.seq < d.seq))
         ORDER BY d.priority, d.seq
         LIMIT @limit)
       RETURNING seq, id, body, headers, priority, okey, published_at, attempt`,
    );
    this.nextDueStmt = db.prepare(
      'SELECT MIN(due_at) AS due FROM sluice_deliveries WHERE topic = ? AND grp = ? AND due_at > ?',
    );
    this.ackStmt = db.prepare('DELETE FROM sluice_deliveries WHERE seq = ? AND owner = ? AND attempt = ?');
    this.retryStmt = db.prepare(
      'UPDATE sluice_deliveries SET due_at = ?, owner = NULL WHERE seq = ? AND owner = ? AND attempt = ?',
    );
    this.renewStmt = db.prepare(
      'UPDATE sluice_deliveries SET due_at = ? WHERE seq = ? AND owner = ? AND attempt = ?',
    );
    this.releaseStmt = db.prepare(
      'UPDATE sluice_deliveries SET due_at = ?, owner = NULL WHERE seq = ? AND owner = ? AND attempt = ?',
    );
    this.toDeadStmt = db.prepare(
      `INSERT OR REPLACE INTO sluice_dead_letters
         (topic, grp, id, body, headers, priority, okey, published_at, attempts, error, reason, dead_at)
       SELECT topic, grp, id, body, headers, priority, okey, published_at, attempt, @error, @reason, @now
       FROM sluice_deliveries WHERE seq = @seq AND owner = @owner AND attempt = @attempt`,
    );
    const statsSql = (where: string) =>
      `SELECT g.topic AS topic, g.grp AS grp,
         (SELECT count(*) FROM sluice_deliveries d WHERE d.topic = g.topic AND d.grp = g.grp AND d.owner IS NULL) AS pending,
         (SELECT count(*) FROM sluice_deliveries d WHERE d.topic = g.topic AND d.grp = g.grp AND d.owner IS NOT NULL) AS in_flight,
         (SELECT count(*) FROM sluice_dead_letters x WHERE x.topic = g.topic AND x.grp = g.grp) AS dead
       FROM sluice_groups g ${where} ORDER BY g.topic, g.grp`;
    this.statsAll = db.prepare(statsSql(''));
    this.statsTopic = db.prepare(statsSql('WHERE g.topic = ?'));
    this.doorbellPorts = db.prepare('SELECT port FROM sluice_doorbells WHERE topic = ?');
    this.transactionOf = db.transaction((fns: Array<() => void>) => {
      for (const fn of fns) fn();
    });
  }

  /**
   * Runs `write` in the next group commit: every write queued before the
   * microtask queue drains commits in one transaction. Resolves when it is
   * durable (as durable as `synchronous` makes it).
   */
  enqueue(write: () => void, single = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ run: write, single, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  /** Commits everything queued now (also called by close). */
  flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.queue.length);
    try {
      // One single-statement write alone is atomic by itself: skip BEGIN/COMMIT.
      if (batch.length === 1 && batch[0]?.single) batch[0].run();
      else this.transactionOf(batch.map((b) => b.run));
      for (const b of batch) b.resolve();
    } catch (e) {
      const err = storeError(e);
      for (const b of batch) b.reject(err);
    }
  }

  declareGroup(topic: string, group: string, now: number): void {
    this.insertGroup.run(topic, group, now);
  }

  /** Inserts one row per declared group of `topic` for each message. */
  insertMessages(topic: string, messages: readonly OutgoingMessage[], now: number): void {
    for (const m of messages) {
      const headers = m.headers && Object.keys(m.headers).length > 0 ? JSON.stringify(m.headers) : null;
      const at = m.deliverAt ? Math.max(now, m.deliverAt.getTime()) : now;
      this.insertFanOut.run(
        m.id,
        m.body,
        headers,
        PRIORITY_RANK[m.priority ?? 'normal'],
        m.orderingKey ?? null,
        now,
        at,
        topic,
      );
    }
  }

  claim(
    topic: string,
    group: string,
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
  ): ClaimedRow[] {
    const rows = this.claimStmt.all({
      topic,
      grp: group,
      owner,
      now,
      leaseUntil: now + leaseMs,
      limit,
    }) as ClaimedRow[];
    // RETURNING gives rows in no particular order: hand them out by priority, then publish order.
    if (rows.length > 1) rows.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
    return rows;
  }

  /** Earliest future `due_at` in the group (a scheduled message, a retry, a lease expiry), if any. */
  nextDue(topic: string, group: string, now: number): number | undefined {
    const r = this.nextDueStmt.get(topic, group, now) as { due: number | null };
    return r.due ?? undefined;
  }

  ack(seq: number, owner: string, attempt: number): void {
    this.ackStmt.run(seq, owner, attempt);
  }

  retry(seq: number, owner: string, attempt: number, dueAt: number): void {
    this.retryStmt.run(dueAt, seq, owner, attempt);
  }

  /** Renews leases; returns how many rows are still owned. */
  renew(rows: ReadonlyArray<{ seq: number; attempt: number }>, owner: string, leaseUntil: number): number {
    let owned = 0;
    for (const r of rows) owned += this.renewStmt.run(leaseUntil, r.seq, owner, r.attempt).changes;
    return owned;
  }

  /** Gives a claimed row back at once (graceful stop with a handler still running). */
  release(seq: number, owner: string, attempt: number, now: number): void {
    this.releaseStmt.run(now, seq, owner, attempt);
  }

  deadLetter(seq: number, owner: string, attempt: number, error: string, reason: string, now: number): void {
    const moved = this.toDeadStmt.run({ seq, owner, attempt, error, reason, now }).changes;
    if (moved > 0) this.ackStmt.run(seq, owner, attempt);
  }

  stats(
    topic?: string,
  ): Array<{ topic: string; grp: string; pending: number; in_flight: number; dead: number }> {
    return (topic === undefined ? this.statsAll.all() : this.statsTopic.all(topic)) as Array<{
      topic: string;
      grp: string;
      pending: number;
      in_flight: number;
      dead: number;
    }>;
  }

  doorbellsOf(topic: string): number[] {
    return (this.doorbellPorts.all(topic) as Array<{ port: number }>).map((r) => r.port);
  }

  /** `WHERE` clause and parameters of a DLQ filter. */
  static dlqWhere(filter: DeadLetterFilter = {}): { sql: string; params: unknown[] } {
    const parts: string[] = [];
    const params: unknown[] = [];
    if (filter.topic !== undefined) {
      parts.push('topic = ?');
      params.push(filter.topic);
    }
    if (filter.group !== undefined) {
      parts.push('grp = ?');
      params.push(filter.group);
    }
    if (filter.ids !== undefined) {
      parts.push(filter.ids.length === 0 ? '0' : `id IN (${filter.ids.map(() => '?').join(', ')})`);
      params.push(...filter.ids);
    }
    return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
