-- The mailbox sink: every delivered email, once per message id.
CREATE TABLE IF NOT EXISTS mailbox (
  message_id   TEXT PRIMARY KEY,
  recipient    TEXT NOT NULL,
  subject      TEXT NOT NULL,
  template_id  TEXT NOT NULL,
  body_text    TEXT NOT NULL,
  body_html    TEXT NOT NULL,
  priority     TEXT NOT NULL,
  order_id     TEXT,
  delivered_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS mailbox_recipient ON mailbox (recipient, delivered_at DESC);
