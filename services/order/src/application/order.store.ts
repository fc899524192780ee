import type { EventEnvelope } from '@sluice/contracts';
import type { Amount, Order } from '../domain/order.js';

/** The order service's persistence port. Every write commits its events (outbox) in the same transaction. */
export interface OrderStore {
  get(id: string): Promise<Order | undefined>;
  findByKey(idempotencyKey: string): Promise<Order | undefined>;
  /** A customer's orders, newest first, at most `limit`. */
  listByCustomer(customerId: string, limit: number): Promise<Order[]>;
  /**
   * Inserts a new order placed with `idempotencyKey`, with its events. If an
   * order with that key exists (a concurrent duplicate) nothing is written and
   * that order is returned.
   */
  insert(order: Order, idempotencyKey: string, events: readonly EventEnvelope[]): Promise<Order>;
  /** Replaces an order still in `expectedStatus`, with its events; false (nothing written) if it moved meanwhile. */
  update(order: Order, expectedStatus: Order['status'], events: readonly EventEnvelope[]): Promise<boolean>;
}

/** The catalog port: current prices of products. */
export interface ProductCatalog {
  /** Prices of the products that exist (unknown ids are simply absent). */
  prices(productIds: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, Amount>>;
}
