import { assertSchemaName, withPgTransaction } from '@sluice/service';
import type pg from 'pg';
import type { ProductStore } from '../application/product.store.js';
import type { Product } from '../domain/product.js';

interface Row {
  id: string;
  name: string;
  description: string;
  price: string;
  currency: string;
  image_url: string;
}

/** The catalog on PostgreSQL (one schema per service). */
export class PgProductStore implements ProductStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {
    assertSchemaName(schema);
  }

  async list({ limit, after }: { limit: number; after?: string }) {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM ${this.schema}.product WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2`,
      [after ?? null, limit],
    );
    return rows.map(toProduct);
  }

  async getMany(ids: readonly string[]) {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<Row>(`SELECT * FROM ${this.schema}.product WHERE id = ANY($1)`, [
      [...ids],
    ]);
    return rows.map(toProduct);
  }

  async upsert(products: readonly Product[]) {
    await withPgTransaction(this.pool, async (c) => {
      for (const p of products) {
        await c.query(
          `INSERT INTO ${this.schema}.product (id, name, description, price, currency, image_url, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, now())
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, price = excluded.price,
             currency = excluded.currency, image_url = excluded.image_url, updated_at = now()`,
          [p.id, p.name, p.description, p.price.amount, p.price.currency, p.imageUrl],
        );
      }
    });
  }
}

function toProduct(r: Row): Product {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    price: { amount: Number(r.price), currency: r.currency },
    imageUrl: r.image_url,
  };
}
