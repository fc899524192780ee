/**
 * The PostgreSQL transport's tables, in one schema (default `sluice_bus`)
 * shared by every process that opens the same URL (see
 * docs/decisions/019-postgres-transport.md). The design follows the embedded
 * transport's (decision 016): one row per message per group, claimed by an
 * `UPDATE … RETURNING`, with a lease renewed by heartbeat, and a DLQ table.
 *
 * - `groups`: which groups consume which topic (the fan-out targets).
 * - `deliveries`: one row per message per group until it is settled. `state`
 *   says where it is (see {@link DeliveryState}); `due_at` is when a waiting
 *   row becomes ready, or when a claimed row's lease expires; a claimed row
 *   has an `owner` (the consumer) and `attempt` counts deliveries. Ack deletes
 *   the row; retry makes it waiting (or ready) again.
 * - `dead_letters`: the DLQ, one row per (topic, group, id).
 *
 * Times are the database's clock (`now()`), so consumers on several machines
 * agree on lease expiry and scheduled times whatever their own clocks say.
 */

/**
 * `deliveries.state`. Only `READY` rows are in the claim index, so a claim
 * reads exactly the rows it may take, in order, and stops after `LIMIT`.
 */
export const DeliveryState = {
  /** Claimable now: in the partial index the claim scans. */
  READY: 0,
  /** Not before `due_at`: scheduled (`deliverAt`) or retried with a delay. */
  WAITING: 1,
  /** Handed to `owner` until `due_at` (the lease), renewed by heartbeat. */
  CLAIMED: 2,
  /**
   * Has an ordering key and an earlier row of that key is still in the group:
   * promoted (to READY or WAITING) when that row is acknowledged or
   * dead-lettered.
   */
  BLOCKED: 3,
} as const;

/** Version of the layout below, recorded in `meta`. */
export const SCHEMA_VERSION = 1;

/**
 * Lower-case SQL identifier accepted as a schema name: letters, digits and
 * `_`, starting with a letter or `_`, at most 63 bytes (PostgreSQL's limit).
 */
export const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** The quoted, schema-qualified name of one of the transport's tables. */
export function tableName(schema: string, table: 'groups' | 'deliveries' | 'dead_letters' | 'meta'): string {
  return `"${schema}"."${table}"`;
}

/**
 * DDL, idempotent. Run in one transaction holding an advisory lock (two
 * processes creating the same tables at once would otherwise race in the
 * catalog).
 */
export function schemaSql(schema: string): string {
  const s = `"${schema}"`;
  const { READY, WAITING, CLAIMED } = DeliveryState;
  return `
CREATE SCHEMA IF NOT EXISTS ${s};

CREATE TABLE IF NOT EXISTS ${s}.meta (
  key text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE IF NOT EXISTS ${s}.groups (
  topic text NOT NULL,
  grp text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, grp)
);

CREATE TABLE IF NOT EXISTS ${s}.deliveries (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic text NOT NULL,
  grp text NOT NULL,
  id text NOT NULL,
  body bytea NOT NULL,
  headers jsonb,
  priority smallint NOT NULL,
  okey text,
  published_at timestamptz NOT NULL,
  due_at timestamptz NOT NULL,
  state smallint NOT NULL,
  owner uuid,
  attempt integer NOT NULL DEFAULT 0
)
-- A queue table churns (every row is inserted, updated and deleted within
-- seconds): vacuum it after 2 % of changes rather than 20 %, so dead index
-- entries at the head of the claim index are cleared early.
WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
-- The claim index: ready rows only, in hand-out order.
CREATE INDEX IF NOT EXISTS deliveries_ready
  ON ${s}.deliveries (topic, grp, priority, seq) WHERE state = ${READY};
-- Waiting rows and leases, by the time they fall due (promotion, next wake-up).
CREATE INDEX IF NOT EXISTS deliveries_due
  ON ${s}.deliveries (topic, grp, due_at) WHERE state IN (${WAITING}, ${CLAIMED});
-- "Is a row of this key still in the group?" and "the next row of this key".
CREATE INDEX IF NOT EXISTS deliveries_key
  ON ${s}.deliveries (topic, grp, okey, seq) WHERE okey IS NOT NULL;

CREATE TABLE IF NOT EXISTS ${s}.dead_letters (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic text NOT NULL,
  grp text NOT NULL,
  id text NOT NULL,
  body bytea NOT NULL,
  headers jsonb,
  priority smallint NOT NULL,
  okey text,
  published_at timestamptz NOT NULL,
  attempts integer NOT NULL,
  error text NOT NULL,
  reason text NOT NULL,
  dead_at timestamptz NOT NULL,
  UNIQUE (topic, grp, id)
);
CREATE INDEX IF NOT EXISTS dead_letters_time ON ${s}.dead_letters (dead_at, seq);

INSERT INTO ${s}.meta (key, value) VALUES ('schema_version', '${SCHEMA_VERSION}')
  ON CONFLICT (key) DO NOTHING;
`;
}
