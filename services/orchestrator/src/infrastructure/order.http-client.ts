import type { HttpClient } from '@sluice/http';
import type { OrderPort } from '../application/order-flow.ports.js';

/** The saga's order port over the order service's internal REST routes (both idempotent). */
export class OrderHttpClient implements OrderPort {
  constructor(private readonly http: HttpClient) {}

  async confirm(orderId: string, refs: { reservationId: string; paymentId: string }, signal: AbortSignal) {
    await this.http.post(`/internal/orders/${encodeURIComponent(orderId)}/confirm`, refs, {
      signal,
      idempotencyKey: `${orderId}:confirm`,
    });
  }

  async cancel(orderId: string, reason: string, message: string, signal: AbortSignal) {
    await this.http.post(
      `/internal/orders/${encodeURIComponent(orderId)}/cancel`,
      { reason, message: message.slice(0, 1000) },
      { signal, idempotencyKey: `${orderId}:cancel` },
    );
  }
}
