-- Every charge attempt, captured or declined, keyed by its idempotency key.
CREATE TABLE IF NOT EXISTS payment (
  id                     TEXT PRIMARY KEY,
  order_id               TEXT NOT NULL,
  customer_id            TEXT NOT NULL,
  amount                 INTEGER NOT NULL CHECK (amount > 0),
  currency               TEXT NOT NULL,
  card_token             TEXT NOT NULL,
  status                 TEXT NOT NULL CHECK (status IN ('captured', 'declined', 'refunded')),
  decline_code           TEXT,
  idempotency_key        TEXT NOT NULL UNIQUE,
  processed_at           TEXT NOT NULL,
  refund_id              TEXT UNIQUE,
  refund_idempotency_key TEXT,
  refunded_at            TEXT
);
CREATE INDEX IF NOT EXISTS payment_order ON payment (order_id);
