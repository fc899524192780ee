import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../src/infrastructure/jwt.js';
import {
  type ServiceProcess,
  startGateway,
  startOrderService,
  startProductService,
  tempDir,
  until,
} from './gateway.test-support.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions themselves
type Json = any;
const json = async (res: Response): Promise<Json> => res.json();
const SECRET = 'real-order-secret-0123456789abcdef012345';

describe('gateway over the real product and order services (processes)', () => {
  const dir = tempDir();
  let product: ServiceProcess;
  let order: ServiceProcess;
  let gw: Awaited<ReturnType<typeof startGateway>>;
  let token: string;
  const call = (p: string, init: RequestInit = {}) =>
    fetch(`${gw.url}${p}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.headers as Record<string, string>),
      },
    });
  const place = (customerId: string, key: string, items = [{ productId: 'kettle', quantity: 2 }]) =>
    call('/api/v1/orders', {
      method: 'POST',
      body: JSON.stringify({ customerId, items, payment: { cardToken: 'tok_ok' } }),
      headers: { 'idempotency-key': key },
    });

  beforeAll(async () => {
    product = await startProductService(dir);
    order = await startOrderService(dir, product.url);
    gw = await startGateway(
      dir,
      { PRODUCT_URL: product.url, ORDER_URL: order.url, SLUICE_JWT_SECRET: SECRET },
      { statusPollMs: 20 },
    );
    token = await issueToken(SECRET, { sub: 'ada', role: 'customer' });
    await gw.service.composed;
  }, 120_000);
  afterAll(async () => {
    await gw?.service.shutdown();
    await order?.stop();
    await product?.stop();
  });

  it('places an order once per Idempotency-Key and reads it back in the public shape', async () => {
    const first = await place('ada', 'real-1');
    expect(first.status).toBe(202);
    const placed = await json(first);
    expect(placed).toEqual({ id: expect.any(String), status: 'pending' });
    const again = await json(await place('ada', 'real-1'));
    expect(again.id).toBe(placed.id);
    const got = await json(await call(`/api/v1/orders/${placed.id}`));
    expect(got).toEqual({
      id: placed.id,
      customerId: 'ada',
      status: 'pending',
      items: [{ productId: 'kettle', quantity: 2, unitPrice: { amount: 3499, currency: 'USD' } }],
      total: { amount: 6998, currency: 'USD' },
    });
    expect(
      (await json(await call('/api/v1/orders?customerId=ada'))).items.map((o: { id: string }) => o.id),
    ).toEqual([placed.id]);
  });

  it('passes the order service’s business errors through with their reason', async () => {
    const res = await place('ada', 'real-unknown', [{ productId: 'no-such-product', quantity: 1 }]);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await json(res)).reason).toBe('ORDER_UNKNOWN_PRODUCT');
    expect((await call('/api/v1/orders/nope')).status).toBe(404);
  });

  it('streams a real order’s status until it is cancelled', async () => {
    const { id } = await json(await place('sse', 'real-sse'));
    const res = await call(`/api/v1/orders/${id}/events`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readAll = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
      }
    })();
    await until(() => text.includes('"pending"'), 20_000, 'the first event');
    // What the orchestrator does when payment is declined.
    const cancel = await fetch(`${order.url}/internal/orders/${id}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'PAYMENT_DECLINED' }),
    });
    expect(cancel.status).toBe(200);
    await readAll;
    const events = text
      .split('\n\n')
      .filter((b) => b.includes('event: status'))
      .map((b) => JSON.parse((b.split('\n').find((l) => l.startsWith('data: ')) as string).slice(6)));
    expect(events).toEqual([
      { id, status: 'pending' },
      { id, status: 'cancelled', reason: 'PAYMENT_DECLINED' },
    ]);
  });

  it('places and reads orders through GraphQL, products resolved by the product subgraph', async () => {
    const gql = async (query: string, variables?: Record<string, unknown>) =>
      json(await call('/graphql', { method: 'POST', body: JSON.stringify({ query, variables }) }));
    const placed = await gql(
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }',
      {
        input: {
          customerId: 'gql',
          items: [
            { productId: 'mug', quantity: 1 },
            { productId: 'tea', quantity: 3 },
          ],
          payment: { cardToken: 'tok_ok' },
          idempotencyKey: 'gql-1',
        },
      },
    );
    expect(placed.errors).toBeUndefined();
    expect(placed.data.placeOrder.status).toBe('PENDING');
    const read = await gql(
      'query($id: ID!) { order(id: $id) { total { amount } items { quantity product { name } } } ordersByCustomer(customerId: "gql") { id } }',
      { id: placed.data.placeOrder.id },
    );
    expect(read.errors).toBeUndefined();
    expect(read.data.order).toEqual({
      total: { amount: 1299 + 3 * 1599 },
      items: [
        { quantity: 1, product: { name: 'Stoneware Mug' } },
        { quantity: 3, product: { name: 'Sencha Green Tea' } },
      ],
    });
    expect(read.data.ordersByCustomer).toEqual([{ id: placed.data.placeOrder.id }]);
    const bad = await gql(
      'mutation { placeOrder(input: { customerId: "x", items: [], payment: { cardToken: "tok_ok" } }) { id } }',
    );
    expect(bad.errors?.length).toBeGreaterThan(0);
  });
});
