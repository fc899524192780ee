import { createEnvelope } from '@sluice/contracts';
import { type Order, placeOrder } from '../domain/order.js';
import { UnknownProductError } from '../domain/order-errors.js';
import type { OrderStore, ProductCatalog } from './order.store.js';

/** What a customer asks for. */
export interface PlaceOrderCommand {
  readonly customerId: string;
  readonly items: readonly { readonly productId: string; readonly quantity: number }[];
  readonly payment: { readonly cardToken: string };
  /** The same key places one order: a repeat returns it. */
  readonly idempotencyKey: string;
  readonly userId?: string;
}

/** Dependencies of {@link PlaceOrder}. */
export interface PlaceOrderDeps {
  readonly store: OrderStore;
  readonly catalog: ProductCatalog;
  readonly now: () => Date;
  readonly newId: () => string;
  readonly source: string;
}

/**
 * Places an order: prices its lines from the catalog, stores it as `pending`
 * and writes `order.placed` through the outbox in the same transaction, once
 * per idempotency key. The rest of the flow is asynchronous.
 *
 * @throws UnknownProductError when the catalog lacks a product
 * @throws InvalidOrderError for an order that breaks the rules
 */
export class PlaceOrder {
  constructor(private readonly deps: PlaceOrderDeps) {}

  async execute(cmd: PlaceOrderCommand, signal?: AbortSignal): Promise<{ order: Order; created: boolean }> {
    const { store, catalog, now, newId, source } = this.deps;
    const existing = await store.findByKey(cmd.idempotencyKey);
    if (existing) return { order: existing, created: false };
    const prices = await catalog.prices(
      cmd.items.map((i) => i.productId),
      signal,
    );
    const missing = cmd.items.filter((i) => !prices.has(i.productId)).map((i) => i.productId);
    if (missing.length > 0) throw new UnknownProductError(missing);
    const at = now();
    const order = placeOrder({
      id: newId(),
      customerId: cmd.customerId,
      items: cmd.items.map((i) => ({
        productId: i.productId,
        quantity: i.quantity,
        unitPrice: prices.get(i.productId)!,
      })),
      now: at,
    });
    const event = createEnvelope({
      type: 'order.placed',
      source,
      subject: order.id,
      time: at,
      correlationId: order.id,
      ...(cmd.userId ? { userId: cmd.userId } : {}),
      data: {
        orderId: order.id,
        customerId: order.customerId,
        items: order.items.map((l) => ({
          productId: l.productId,
          quantity: l.quantity,
          unitPrice: money(l.unitPrice),
        })),
        total: money(order.total),
        payment: { cardToken: cmd.payment.cardToken },
      },
    });
    const stored = await store.insert(order, cmd.idempotencyKey, [event]);
    return { order: stored, created: stored.id === order.id };
  }
}

/** An amount in the events' Money shape (currencies are validated at the edge). */
export function money(a: { amount: number; currency: string }) {
  return { amount: a.amount, currency: a.currency as 'USD' };
}
