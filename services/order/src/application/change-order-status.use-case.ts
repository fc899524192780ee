import { createEnvelope, type EventEnvelope } from '@sluice/contracts';
import { cancelOrder, confirmOrder, type Order } from '../domain/order.js';
import { OrderNotFoundError } from '../domain/order-errors.js';
import type { OrderStore } from './order.store.js';
import { money } from './place-order.use-case.js';

/** Dependencies of {@link ChangeOrderStatus}. */
export interface ChangeOrderStatusDeps {
  readonly store: OrderStore;
  readonly now: () => Date;
  readonly source: string;
}

type Cause = Pick<EventEnvelope, 'id' | 'correlationid'>;

/**
 * Ends an order's flow: confirm or cancel, idempotently (a repeat changes
 * nothing and emits nothing). Emits `order.confirmed` / `order.cancelled`
 * through the outbox.
 */
export class ChangeOrderStatus {
  constructor(private readonly deps: ChangeOrderStatusDeps) {}

  confirm(
    orderId: string,
    refs: { reservationId?: string; paymentId?: string } = {},
    causedBy?: Cause,
  ): Promise<Order> {
    return this.change(
      orderId,
      (o, at) => confirmOrder(o, at),
      (o) =>
        createEnvelope({
          type: 'order.confirmed',
          source: this.deps.source,
          subject: o.id,
          time: o.updatedAt,
          ...(causedBy ? { causedBy } : { correlationId: o.id }),
          data: {
            orderId: o.id,
            customerId: o.customerId,
            total: money(o.total),
            ...(refs.reservationId ? { reservationId: refs.reservationId } : {}),
            ...(refs.paymentId ? { paymentId: refs.paymentId } : {}),
          },
        }),
    );
  }

  cancel(orderId: string, reason: string, message?: string, causedBy?: Cause): Promise<Order> {
    return this.change(
      orderId,
      (o, at) => cancelOrder(o, reason, message, at),
      (o) =>
        createEnvelope({
          type: 'order.cancelled',
          source: this.deps.source,
          subject: o.id,
          time: o.updatedAt,
          ...(causedBy ? { causedBy } : { correlationId: o.id }),
          data: {
            orderId: o.id,
            customerId: o.customerId,
            reason,
            ...(message === undefined ? {} : { message: message.slice(0, 1000) }),
          },
        }),
    );
  }

  private async change(
    orderId: string,
    move: (o: Order, at: Date) => Order,
    event: (o: Order) => EventEnvelope,
  ): Promise<Order> {
    // A concurrent change can win the race: read again and decide on what it did.
    for (let attempt = 0; attempt < 5; attempt++) {
      const order = await this.deps.store.get(orderId);
      if (!order) throw new OrderNotFoundError(orderId);
      const next = move(order, this.deps.now());
      if (next === order) return order;
      if (await this.deps.store.update(next, order.status, [event(next)])) return next;
    }
    throw new Error(`order ${orderId} kept changing under us`);
  }
}
