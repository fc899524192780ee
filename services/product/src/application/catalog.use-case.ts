import { type Product, ProductNotFoundError, validateProduct } from '../domain/product.js';
import type { ProductStore } from './product.store.js';

/** Most products a page returns. */
export const MAX_PAGE = 500;

/** Reading and seeding the catalog. */
export class Catalog {
  constructor(private readonly store: ProductStore) {}

  list(limit = 100, after?: string): Promise<Product[]> {
    return this.store.list({ limit: Math.max(1, Math.min(MAX_PAGE, limit)), ...(after ? { after } : {}) });
  }

  async get(id: string): Promise<Product> {
    const [p] = await this.store.getMany([id]);
    if (!p) throw new ProductNotFoundError(id);
    return p;
  }

  /**
   * Products by id in the order asked, `undefined` where one does not exist:
   * the shape a DataLoader batch function returns, answered with one query.
   */
  async getMany(ids: readonly string[]): Promise<(Product | undefined)[]> {
    const found = new Map((await this.store.getMany([...new Set(ids)])).map((p) => [p.id, p]));
    return ids.map((id) => found.get(id));
  }

  async seed(products: readonly Product[]): Promise<void> {
    return this.store.upsert(products.map(validateProduct));
  }
}
