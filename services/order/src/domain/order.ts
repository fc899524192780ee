import { InvalidOrderError, InvalidTransitionError } from './order-errors.js';

/** Integer minor units and a currency. */
export interface Amount {
  readonly amount: number;
  readonly currency: string;
}

/** One line of an order, priced from the catalog when the order was placed. */
export interface OrderLine {
  readonly productId: string;
  readonly quantity: number;
  readonly unitPrice: Amount;
}

/** `pending` until the flow ends in `confirmed` or `cancelled` (with a reason). */
export type OrderStatus = 'pending' | 'confirmed' | 'cancelled';

/** One status change, for the order's timeline. */
export interface StatusChange {
  readonly status: OrderStatus;
  readonly at: Date;
  readonly reason?: string;
}

/** An order. */
export interface Order {
  readonly id: string;
  readonly customerId: string;
  readonly items: readonly OrderLine[];
  readonly total: Amount;
  readonly status: OrderStatus;
  /** Why it was cancelled: a stable reason such as `INVENTORY_INSUFFICIENT_STOCK`. */
  readonly reason?: string;
  /** A human explanation of the reason. */
  readonly message?: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly history: readonly StatusChange[];
}

/** Most lines per order and most units per line. */
export const MAX_LINES = 100;
export const MAX_QUANTITY = 10_000;

/** What placing an order needs: priced lines. */
export interface NewOrder {
  readonly id: string;
  readonly customerId: string;
  readonly items: readonly OrderLine[];
  readonly now: Date;
}

/**
 * A new pending order, its total computed from the priced lines.
 *
 * @throws InvalidOrderError for no lines, too many, a product twice, a bad quantity or mixed currencies
 */
export function placeOrder(input: NewOrder): Order {
  const { items } = input;
  if (items.length === 0) throw new InvalidOrderError('an order needs at least one item', 'items');
  if (items.length > MAX_LINES) throw new InvalidOrderError(`at most ${MAX_LINES} items`, 'items');
  const seen = new Set<string>();
  let total = 0;
  const currency = items[0]?.unitPrice.currency ?? '';
  for (const [i, line] of items.entries()) {
    if (seen.has(line.productId))
      throw new InvalidOrderError(`product ${line.productId} appears twice`, `items.${i}.productId`);
    seen.add(line.productId);
    if (!Number.isSafeInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_QUANTITY)
      throw new InvalidOrderError(`quantity must be an integer of 1…${MAX_QUANTITY}`, `items.${i}.quantity`);
    if (line.unitPrice.currency !== currency)
      throw new InvalidOrderError(
        'every item of an order must be priced in one currency',
        `items.${i}.productId`,
      );
    total += line.quantity * line.unitPrice.amount;
  }
  if (!Number.isSafeInteger(total)) throw new InvalidOrderError('order total is too large', 'items');
  return {
    id: input.id,
    customerId: input.customerId,
    items: items.map((l) => ({ ...l, unitPrice: { ...l.unitPrice } })),
    total: { amount: total, currency },
    status: 'pending',
    createdAt: input.now,
    updatedAt: input.now,
    history: [{ status: 'pending', at: input.now }],
  };
}

/** Confirms a pending order; confirming twice changes nothing; a cancelled order cannot be confirmed. */
export function confirmOrder(order: Order, now: Date): Order {
  if (order.status === 'confirmed') return order;
  if (order.status !== 'pending') throw new InvalidTransitionError(order.id, order.status, 'confirmed');
  return {
    ...order,
    status: 'confirmed',
    updatedAt: now,
    history: [...order.history, { status: 'confirmed', at: now }],
  };
}

/** Cancels a pending order with a reason; cancelling twice changes nothing; a confirmed order cannot be cancelled. */
export function cancelOrder(order: Order, reason: string, message: string | undefined, now: Date): Order {
  if (order.status === 'cancelled') return order;
  if (order.status !== 'pending') throw new InvalidTransitionError(order.id, order.status, 'cancelled');
  return {
    ...order,
    status: 'cancelled',
    reason,
    ...(message === undefined ? {} : { message }),
    updatedAt: now,
    history: [...order.history, { status: 'cancelled', at: now, reason }],
  };
}
