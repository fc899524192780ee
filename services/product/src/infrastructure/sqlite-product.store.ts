import type Database from 'better-sqlite3';
import type { ProductStore } from '../application/product.store.js';
import type { Product } from '../domain/product.js';

interface Row {
  id: string;
  name: string;
  description: string;
  price: number;
  currency: string;
  image_url: string;
}

/** The catalog on SQLite. */
export class SqliteProductStore implements ProductStore {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    this.stmts = {
      first: db.prepare<[number], Row>('SELECT * FROM product ORDER BY id LIMIT ?'),
      after: db.prepare<[string, number], Row>('SELECT * FROM product WHERE id > ? ORDER BY id LIMIT ?'),
      upsert: db.prepare(
        `INSERT INTO product (id, name, description, price, currency, image_url, updated_at)
         VALUES (@id, @name, @description, @price, @currency, @image_url, @updated_at)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, price = excluded.price,
           currency = excluded.currency, image_url = excluded.image_url, updated_at = excluded.updated_at`,
      ),
    };
  }

  async list({ limit, after }: { limit: number; after?: string }) {
    return (after === undefined ? this.stmts.first.all(limit) : this.stmts.after.all(after, limit)).map(
      toProduct,
    );
  }

  async getMany(ids: readonly string[]) {
    if (ids.length === 0) return [];
    // One statement per batch size would be cached by better-sqlite3; json_each keeps it to one statement.
    return this.db
      .prepare<[string], Row>('SELECT * FROM product WHERE id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(ids))
      .map(toProduct);
  }

  async upsert(products: readonly Product[]) {
    const at = new Date().toISOString();
    this.db.transaction(() => {
      for (const p of products)
        this.stmts.upsert.run({
          id: p.id,
          name: p.name,
          description: p.description,
          price: p.price.amount,
          currency: p.price.currency,
          image_url: p.imageUrl,
          updated_at: at,
        });
    })();
  }
}

function toProduct(r: Row): Product {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    price: { amount: r.price, currency: r.currency },
    imageUrl: r.image_url,
  };
}
