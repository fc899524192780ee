import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type {
  IdempotencyBeginResult,
  IdempotencyClaim,
  IdempotencyStore,
  StoredResponse,
} from './idempotency-store.js';

/** Options of {@link createSqliteIdempotencyStore}. */
export interface SqliteIdempotencyStoreOptions {
  /** A database file path (opened in WAL mode, closed by `close()`), or an open better-sqlite3 database (left open). */
  readonly database: string | Database.Database;
  /** Table name (letters, digits, underscores). Default `sluice_idempotency`. */
  readonly table?: string;
}

interface Row {
  fingerprint: string;
  token: string;
  state: 'in_flight' | 'completed';
  status: number | null;
  headers: string | null;
  body: Buffer | null;
  locked_until: number;
  expires_at: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * An idempotency store in a SQLite file (better-sqlite3), shared by every
 * process on the machine that opens the same file. `begin` runs in an
 * IMMEDIATE transaction, so two processes cannot both acquire a key.
 * Creates its table on first use.
 */
export function createSqliteIdempotencyStore(options: SqliteIdempotencyStoreOptions): IdempotencyStore {
  const table = options.table ?? 'sluice_idempotency';
  if (!NAME.test(table)) throw new RangeError(`createSqliteIdempotencyStore: invalid table name ${table}`);
  const owns = typeof options.database === 'string';
  const db = typeof options.database === 'string' ? new Database(options.database) : options.database;
  if (owns) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
  }
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    token TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'completed')),
    status INTEGER,
    headers TEXT,
    body BLOB,
    locked_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS ${table}_expires_at ON ${table} (expires_at);`);

  const select = db.prepare<[string], Row>(
    `SELECT fingerprint, token, state, status, headers, body, locked_until, expires_at FROM ${table} WHERE key = ?`,
  );
  const upsert = db.prepare(
    `INSERT INTO ${table} (key, fingerprint, token, state, locked_until, expires_at)
     VALUES (@key, @fingerprint, @token, 'in_flight', @lockedUntil, @expiresAt)
     ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, token = excluded.token,
       state = 'in_flight', status = NULL, headers = NULL, body = NULL,
       locked_until = excluded.locked_until, expires_at = excluded.expires_at`,
  );
  const completeStmt = db.prepare(
    `UPDATE ${table} SET state = 'completed', status = ?, headers = ?, body = ?, expires_at = ?
     WHERE key = ? AND token = ? AND state = 'in_flight'`,
  );
  const releaseStmt = db.prepare(`DELETE FROM ${table} WHERE key = ? AND token = ? AND state = 'in_flight'`);
  const purgeStmt = db.prepare(`DELETE FROM ${table} WHERE expires_at <= ?`);

  const beginTx = db.transaction((claim: IdempotencyClaim): IdempotencyBeginResult => {
    const row = select.get(claim.key);
    if (row !== undefined && row.expires_at > claim.now) {
      if (row.fingerprint !== claim.fingerprint) return { state: 'mismatch' };
      if (row.state === 'completed') return { state: 'completed', response: toResponse(row) };
      if (row.locked_until > claim.now) return { state: 'in_flight' };
    }
    const token = randomUUID();
    upsert.run({ ...claim, token });
    return { state: 'acquired', token };
  });

  return {
    async begin(claim) {
      return beginTx.immediate(claim);
    },
    async complete(key, token, response, expiresAt) {
      const r = completeStmt.run(
        response.status,
        JSON.stringify(response.headers),
        Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength),
        expiresAt,
        key,
        token,
      );
      return r.changes === 1;
    },
    async release(key, token) {
      releaseStmt.run(key, token);
    },
    async purgeExpired(now) {
      return purgeStmt.run(now).changes;
    },
    async close() {
      if (owns && db.open) db.close();
    },
  };
}

function toResponse(row: Row): StoredResponse {
  return {
    status: row.status ?? 200,
    headers: row.headers === null ? {} : (JSON.parse(row.headers) as Record<string, string>),
    body: row.body === null ? new Uint8Array() : new Uint8Array(row.body),
  };
}
