-- Stock per product: available + reserved + sold is conserved (see domain/stock.ts).
CREATE TABLE IF NOT EXISTS stock (
  product_id TEXT PRIMARY KEY,
  available  INTEGER NOT NULL CHECK (available >= 0),
  reserved   INTEGER NOT NULL CHECK (reserved >= 0),
  sold       INTEGER NOT NULL CHECK (sold >= 0),
  updated_at TIMESTAMPTZ NOT NULL
);

-- Reservations hold stock for an order until committed, released or expired.
CREATE TABLE IF NOT EXISTS reservation (
  id              TEXT PRIMARY KEY,
  order_id        TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  status          TEXT NOT NULL CHECK (status IN ('active', 'released', 'expired', 'committed')),
  items           JSONB NOT NULL,
  created_at      TIMESTAMPTZ NOT NULL,
  expires_at      TIMESTAMPTZ NOT NULL,
  settled_at      TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS reservation_due ON reservation (expires_at) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS reservation_order ON reservation (order_id);
