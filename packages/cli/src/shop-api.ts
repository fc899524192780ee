import type { GatewayClient } from './gateway-client.js';

/** An order as the public edge returns it. */
export interface OrderView {
  readonly id: string;
  readonly customerId: string;
  readonly status: 'pending' | 'confirmed' | 'cancelled';
  readonly reason?: string;
  readonly items: readonly {
    productId: string;
    quantity: number;
    unitPrice: { amount: number; currency: string };
  }[];
  readonly total: { amount: number; currency: string };
}

/** What placing an order sends. */
export interface PlaceOrderBody {
  readonly customerId: string;
  readonly items: readonly { productId: string; quantity: number }[];
  readonly payment: { readonly cardToken: string };
}

/**
 * The shop's gateway API (SPEC.md "The public edge" plus the operator routes
 * under `/api/v1/admin`), typed for the command line.
 */
export class ShopApi {
  constructor(readonly gateway: GatewayClient) {}

  products() {
    return this.get<{ items: { id: string; name: string; price: { amount: number; currency: string } }[] }>(
      '/api/v1/products',
    );
  }

  async placeOrder(
    body: PlaceOrderBody,
    idempotencyKey: string,
  ): Promise<{ id: string; status: string; replayed: boolean }> {
    const r = await this.gateway.request<{ id: string; status: string }>('POST', '/api/v1/orders', {
      body,
      headers: { 'idempotency-key': idempotencyKey },
    });
    // A retried request with the same key gets the first answer again, marked `Idempotent-Replayed: true`.
    return { ...r.body, replayed: r.headers['idempotent-replayed'] === 'true' };
  }

  order(id: string) {
    return this.get<OrderView>(`/api/v1/orders/${encodeURIComponent(id)}`);
  }

  /**
   * Follows an order until it is confirmed or cancelled (GET with backoff,
   * 20 ms doubling to 250 ms); returns it as last seen, still `pending` if
   * `timeoutMs` passed first.
   */
  async awaitEnd(id: string, timeoutMs = 30_000): Promise<OrderView> {
    const end = Date.now() + timeoutMs;
    let wait = 20;
    for (;;) {
      const order = await this.order(id);
      if (order.status !== 'pending' || Date.now() > end) return order;
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(250, wait * 2);
    }
  }

  orders(customerId: string) {
    return this.get<{ items: OrderView[] }>(`/api/v1/orders?customerId=${encodeURIComponent(customerId)}`);
  }

  faults() {
    return this.get<{ items: ({ service: string; id: string } & Record<string, unknown>)[] }>(
      '/api/v1/admin/faults',
    );
  }

  addFault(service: string, spec: Record<string, unknown>) {
    return this.send<{ id: string }>('POST', '/api/v1/admin/faults', { service, ...spec });
  }

  clearFaults(service?: string, id?: string) {
    const q = new URLSearchParams({ ...(service ? { service } : {}), ...(id ? { id } : {}) });
    return this.send<{ cleared: number }>('DELETE', `/api/v1/admin/faults${q.size ? `?${q}` : ''}`);
  }

  deadLetters(filter: { topic?: string; group?: string; limit?: number } = {}) {
    const q = new URLSearchParams(Object.entries(filter).map(([k, v]): [string, string] => [k, String(v)]));
    return this.get<{ items: Record<string, unknown>[] }>(`/api/v1/admin/dlq${q.size ? `?${q}` : ''}`);
  }

  deadLetter(topic: string, group: string, id: string) {
    return this.get<Record<string, unknown>>(
      `/api/v1/admin/dlq/${[topic, group, id].map(encodeURIComponent).join('/')}`,
    );
  }

  replay(filter: { topic?: string; group?: string; ids?: string[] }) {
    return this.send<{ replayed: number }>('POST', '/api/v1/admin/dlq/replay', filter);
  }

  sagas(state?: string) {
    return this.get<{ items: Record<string, unknown>[] }>(
      `/api/v1/admin/sagas${state ? `?state=${encodeURIComponent(state)}` : ''}`,
    );
  }

  saga(id: string) {
    return this.get<Record<string, unknown>>(`/api/v1/admin/sagas/${encodeURIComponent(id)}`);
  }

  retrySaga(id: string) {
    return this.send<Record<string, unknown>>(
      'POST',
      `/api/v1/admin/sagas/${encodeURIComponent(id)}/retry`,
      {},
    );
  }

  private async get<T>(path: string): Promise<T> {
    return (await this.gateway.request<T>('GET', path)).body;
  }

  private async send<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return (await this.gateway.request<T>(method, path, body === undefined ? {} : { body })).body;
  }
}
