-- Orders; lines and the status history are JSON (always read and written with their order).
CREATE TABLE IF NOT EXISTS orders (
  id              TEXT PRIMARY KEY,
  customer_id     TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled')),
  reason          TEXT,
  message         TEXT,
  items           JSONB NOT NULL,
  total_amount    BIGINT NOT NULL CHECK (total_amount >= 0),
  currency        TEXT NOT NULL,
  history         JSONB NOT NULL,
  created_at      TIMESTAMPTZ NOT NULL,
  updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_customer ON orders (customer_id, created_at DESC);
