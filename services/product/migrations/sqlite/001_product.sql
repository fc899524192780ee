CREATE TABLE IF NOT EXISTS product (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  description TEXT NOT NULL,
  price       INTEGER NOT NULL CHECK (price > 0),
  currency    TEXT NOT NULL,
  image_url   TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
