import type { HttpClient } from '@sluice/http';
import type { OrderStatus, OrderStatusSource } from '../application/order-status-feed.js';

/** Reads an order's status from the order service's REST API. */
export function httpOrderStatusSource(order: HttpClient): OrderStatusSource {
  return {
    async get(orderId) {
      const { body } = await order.get<OrderStatus>(`/api/v1/orders/${encodeURIComponent(orderId)}`, {
        timeoutMs: 5_000,
      });
      return { id: body.id, status: body.status, ...(body.reason ? { reason: body.reason } : {}) };
    },
  };
}
