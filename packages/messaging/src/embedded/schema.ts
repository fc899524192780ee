/**
 * The embedded transport's tables, in one SQLite file shared by every process
 * that opens it (see docs/decisions/016-embedded-transport.md).
 *
 * - `sluice_groups`: which groups consume which topic (fan-out targets).
 * - `sluice_deliveries`: one row per message per group until it is settled.
 *   `due_at` (epoch ms) is when the row may next be claimed: for a ready or
 *   scheduled row its visibility time, for a claimed row its lease expiry. A
 *   claimed row has an `owner` (the consumer) and its `attempt` counts
 *   deliveries. Ack deletes the row; retry clears the owner and moves `due_at`.
 * - `sluice_dead_letters`: the DLQ, one row per (topic, group, id).
 * - `sluice_doorbells`: UDP ports of consumers to ring when a topic changes.
 */
export const SCHEMA_VERSION = 1;

/** DDL, idempotent. Run inside one immediate transaction. */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS sluice_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sluice_groups (
  topic TEXT NOT NULL,
  grp TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (topic, grp)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sluice_deliveries (
  seq INTEGER PRIMARY KEY,
  topic TEXT NOT NULL,
  grp TEXT NOT NULL,
  id TEXT NOT NULL,
  body BLOB NOT NULL,
  headers TEXT,
  priority INTEGER NOT NULL,
  okey TEXT,
  published_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  owner TEXT,
  attempt INTEGER NOT NULL
);
-- Claims scan a group in (priority, seq) order and skip rows not yet due
-- (due_at is read from the row: keeping it out of the index spares an index
-- update at every claim, renewal and retry).
CREATE INDEX IF NOT EXISTS sluice_deliveries_claim
  ON sluice_deliveries (topic, grp, priority, seq);
-- "Is an earlier message of this key still unsettled?"
CREATE INDEX IF NOT EXISTS sluice_deliveries_key
  ON sluice_deliveries (topic, grp, okey, seq) WHERE okey IS NOT NULL;

CREATE TABLE IF NOT EXISTS sluice_dead_letters (
  seq INTEGER PRIMARY KEY,
  topic TEXT NOT NULL,
  grp TEXT NOT NULL,
  id TEXT NOT NULL,
  body BLOB NOT NULL,
  headers TEXT,
  priority INTEGER NOT NULL,
  okey TEXT,
  published_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  error TEXT NOT NULL,
  reason TEXT NOT NULL,
  dead_at INTEGER NOT NULL,
  UNIQUE (topic, grp, id)
);
CREATE INDEX IF NOT EXISTS sluice_dead_letters_time ON sluice_dead_letters (dead_at, seq);

CREATE TABLE IF NOT EXISTS sluice_doorbells (
  topic TEXT NOT NULL,
  port INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  PRIMARY KEY (topic, port)
) WITHOUT ROWID;
`;

/** Priorities as stored: smaller is handed out first (shared with the PostgreSQL transport). */
export { PRIORITY_NAME, PRIORITY_RANK } from '../priority-rank.js';
