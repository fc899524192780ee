-- Orders; lines and the status history are JSON (always read and written with their order).
CREATE TABLE IF NOT EXISTS orders (
  id              TEXT PRIMARY KEY,
  customer_id     TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled')),
  reason          TEXT,
  message         TEXT,
  items           TEXT NOT NULL,
  total_amount    INTEGER NOT NULL CHECK (total_amount >= 0),
  currency        TEXT NOT NULL,
  history         TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_customer ON orders (customer_id, created_at DESC);
