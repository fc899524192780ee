import { randomUUID } from 'node:crypto';
import { main } from '@sluice/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http, type RunningShop, startShop } from './shop-harness.js';

/** The public edge of the running shop: the gateway (auth, REST, SSE, GraphQL) and the `sluice` command line. */
describe('the shop through its gateway', () => {
  let shop: RunningShop;
  let auth: Record<string, string>;
  beforeAll(async () => {
    shop = await startShop();
    auth = { authorization: `Bearer ${shop.token}` };
  }, 180_000);
  afterAll(async () => {
    await shop?.stop();
  });

  const sluice = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(['--url', shop.urls.gateway, '--token', shop.token, ...argv], {
      out: (t) => (out += t),
      err: (t) => (err += t),
    });
    return { code, out, err };
  };

  it('answers health without a token and the API only with one', async () => {
    expect((await http('GET', `${shop.urls.gateway}/healthz`)).status).toBe(200);
    expect((await http('GET', `${shop.urls.gateway}/api/v1/products`)).status).toBe(401);
    expect(
      (await http('GET', `${shop.urls.gateway}/api/v1/products`, undefined, { authorization: 'Bearer nope' }))
        .status,
    ).toBe(401);
    const products = await http<{ items: { id: string; price: { amount: number; currency: string } }[] }>(
      'GET',
      `${shop.urls.gateway}/api/v1/products`,
      undefined,
      auth,
    );
    expect(products.status).toBe(200);
    expect(products.body.items.find((p) => p.id === 'mug')?.price).toEqual({ amount: 1299, currency: 'USD' });
  });

  it('places an order over REST and streams its status over SSE until it is confirmed', async () => {
    const placed = await http<{ id: string; status: string }>(
      'POST',
      `${shop.urls.gateway}/api/v1/orders`,
      { customerId: 'sse', items: [{ productId: 'grinder', quantity: 1 }], payment: { cardToken: 'tok_ok' } },
      { ...auth, 'idempotency-key': randomUUID() },
    );
    expect(placed).toMatchObject({ status: 202, body: { status: 'pending' } });
    const res = await fetch(`${shop.urls.gateway}/api/v1/orders/${placed.body.id}/events`, {
      headers: auth,
      signal: AbortSignal.timeout(30_000),
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await res.text(); // the stream ends after a terminal status
    const statuses = [...text.matchAll(/"status":"(\w+)"/g)].map((m) => m[1]);
    expect(statuses.at(-1)).toBe('confirmed');
    const order = await http<{ status: string; total: unknown }>(
      'GET',
      `${shop.urls.gateway}/api/v1/orders/${placed.body.id}`,
      undefined,
      auth,
    );
    expect(order.body).toMatchObject({ status: 'confirmed', total: { amount: 8999, currency: 'USD' } });
  });

  it('answers GraphQL across both subgraphs', async () => {
    const placed = await sluice('--json', 'order', 'place', '--customer', 'gql', '--item', 'tea:2', '--wait');
    expect(placed.code).toBe(0);
    const id = (JSON.parse(placed.out) as { id: string }).id;
    const res = await http<{
      data: { order: { status: string; items: { quantity: number; product: { name: string } }[] } };
    }>(
      'POST',
      `${shop.urls.gateway}/graphql`,
      { query: `{ order(id: "${id}") { status items { quantity product { name price { amount } } } } }` },
      auth,
    );
    expect(res.body.data.order).toEqual({
      status: 'CONFIRMED',
      items: [{ quantity: 2, product: { name: 'Sencha Green Tea', price: { amount: 1599 } } }],
    });
  });

  it('drives orders, faults and load from the sluice command line', async () => {
    const declined = await sluice(
      'order',
      'place',
      '--customer',
      'cli',
      '--item',
      'mug',
      '--card',
      'tok_declined',
      '--wait',
    );
    expect(declined.out).toMatch(/cancelled \(PAYMENT_DECLINED\)/);
    expect(
      (
        await sluice(
          'chaos',
          'add',
          'inventory',
          '--kind',
          'latency',
          '--target',
          'inventory.ReserveStock',
          '--latency',
          '50ms',
        )
      ).code,
    ).toBe(0);
    expect((await sluice('chaos', 'list')).out).toMatch(
      /inventory\s+f\d+\s+latency\s+inventory\.ReserveStock/,
    );
    expect((await sluice('chaos', 'clear')).out).toMatch(/1 fault\(s\) cleared/);
    const load = await sluice('--json', 'load', '--rate', '20', '--duration', '2s', '--concurrency', '16');
    expect(load.code, load.err).toBe(0);
    const result = JSON.parse(load.out) as { completed: number; outcomes: Record<string, number> };
    expect(result.completed).toBe(40);
    // Every order ended in an outcome its scenario allows; none timed out, failed or was duplicated.
    for (const outcome of Object.keys(result.outcomes)) {
      expect(outcome).toMatch(
        /^(confirmed|cancelled:INVENTORY_INSUFFICIENT_STOCK|cancelled:PAYMENT_DECLINED|duplicate-ok)$/,
      );
    }
    const sagas = await sluice('--json', 'saga', 'list', '--state', 'completed');
    expect((JSON.parse(sagas.out) as unknown[]).length).toBeGreaterThan(0);
    await eventually(async () => {
      const stock = await http<{ items: { reserved: number }[] }>(
        'GET',
        `${shop.urls.inventory}/api/v1/inventory`,
      );
      return stock.body.items.every((s) => s.reserved === 0) ? true : undefined;
    });
  });
});
