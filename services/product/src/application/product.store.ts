import type { Product } from '../domain/product.js';

/** The catalog's persistence port. */
export interface ProductStore {
  /** Products in id order, a page at a time. */
  list(options: { limit: number; after?: string }): Promise<Product[]>;
  /** The products with these ids that exist, in no particular order: one query, for batched look-ups. */
  getMany(ids: readonly string[]): Promise<Product[]>;
  /** Inserts or replaces products (seeding, operator edits). */
  upsert(products: readonly Product[]): Promise<void>;
}
