import type { HttpClient } from '@sluice/http';
import type { ProductCatalog } from '../application/order.store.js';
import type { Amount } from '../domain/order.js';

/**
 * The catalog port over the product service's REST API: one batched call per
 * order (`GET /api/v1/products:batch`), through the caller's resilient client
 * (bulkhead → breaker → retry with budget → timeout), deadline propagated.
 */
export class ProductCatalogHttpClient implements ProductCatalog {
  constructor(private readonly http: HttpClient) {}

  async prices(productIds: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, Amount>> {
    const ids = [...new Set(productIds)];
    if (ids.length === 0) return new Map();
    const { body } = await this.http.get<{ items: { id: string; price: Amount }[] }>(
      '/api/v1/products:batch',
      {
        query: { ids: ids.join(',') },
        ...(signal ? { signal } : {}),
      },
    );
    return new Map(body.items.map((p) => [p.id, p.price]));
  }
}
