import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../src/infrastructure/jwt.js';
import {
  type FixtureOrder,
  startGateway,
  startOrderFixture,
  startProductService,
  tempDir,
  until,
} from './gateway.test-support.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions themselves
type Json = any;
const json = async (res: Response): Promise<Json> => res.json();

const SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

describe('gateway (real product service as a process, order service fixture)', () => {
  const dir = tempDir();
  let product: Awaited<ReturnType<typeof startProductService>>;
  let order: Awaited<ReturnType<typeof startOrderFixture>>;
  let gw: Awaited<ReturnType<typeof startGateway>>;
  let admin: string;
  let customer: string;

  const call = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? customer : init.token;
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (init.body !== undefined) headers.set('content-type', 'application/json');
    return fetch(`${gw.url}${path}`, { ...init, headers });
  };
  const placeBody = (customerId = 'ada') => ({
    customerId,
    items: [{ productId: 'kettle', quantity: 2 }],
    payment: { cardToken: 'tok_ok' },
  });

  beforeAll(async () => {
    [product, order] = await Promise.all([startProductService(dir), startOrderFixture()]);
    gw = await startGateway(
      dir,
      { PRODUCT_URL: product.url, ORDER_URL: order.url, SLUICE_JWT_SECRET: SECRET },
      { statusPollMs: 20, heartbeatMs: 50 },
    );
    admin = await issueToken(SECRET, { sub: 'ops', role: 'admin' });
    customer = await issueToken(SECRET, { sub: 'ada', role: 'customer' });
    await gw.service.composed;
  }, 90_000);
  afterAll(async () => {
    await gw?.service.shutdown();
    await order?.close();
    await product?.stop();
  });

  describe('authentication', () => {
    it('answers health, readiness and metrics without a token', async () => {
      for (const path of ['/healthz', '/readyz', '/metrics'])
        expect((await call(path, { token: null })).status, path).toBe(200);
    });

    it('refuses a missing, malformed, badly signed or expired token with 401 problem+json', async () => {
      const expired = await issueToken(SECRET, { sub: 'ada', role: 'customer', ttlSeconds: -60 });
      const otherKey = await issueToken('another-secret-that-is-long-enough-000', {
        sub: 'ada',
        role: 'admin',
      });
      for (const token of [null, 'not-a-jwt', expired, otherKey]) {
        const res = await call('/api/v1/products', { token });
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
        expect((await json(res)).reason).toBe('GATEWAY_UNAUTHENTICATED');
      }
      const gql = await call('/graphql', {
        method: 'POST',
        token: null,
        body: JSON.stringify({ query: '{ products { id } }' }),
      });
      expect(gql.status).toBe(401);
    });

    it('refuses a token without a known role, and keeps operator routes for admins (403)', async () => {
      const noRole = await issueToken(SECRET, { sub: 'x', role: 'guest' as never });
      expect((await call('/api/v1/products', { token: noRole })).status).toBe(401);
      const res = await call('/api/v1/admin/faults');
      expect(res.status).toBe(403);
      expect((await json(res)).reason).toBe('GATEWAY_FORBIDDEN');
      expect((await call('/api/v1/admin/faults?service=product', { token: admin })).status).toBe(200);
    });
  });

  describe('public REST edge', () => {
    it('lists products in the public shape', async () => {
      const res = await call('/api/v1/products');
      expect(res.status).toBe(200);
      const { items } = await json(res);
      expect(items.length).toBeGreaterThan(5);
      expect(items.find((p: { id: string }) => p.id === 'kettle')).toEqual({
        id: 'kettle',
        name: 'Stovetop Kettle',
        description: 'A 2-litre enamel kettle that whistles when ready.',
        price: { amount: 3499, currency: 'USD' },
        imageUrl: '/images/kettle.svg',
      });
    });

    it('needs an Idempotency-Key to place an order, and forwards nothing without one', async () => {
      const before = order.calls.length;
      const res = await call('/api/v1/orders', { method: 'POST', body: JSON.stringify(placeBody()) });
      expect(res.status).toBe(400);
      const problem = await json(res);
      expect(problem.reason).toBe('HTTP_IDEMPOTENCY_KEY_MISSING');
      expect(problem.errors).toEqual([{ field: 'headers.idempotency-key', message: 'is required' }]);
      expect(order.calls.length).toBe(before);
    });

    it('places an order (202 { id, status }), forwarding key, identity and caller; the same key gives the same order', async () => {
      const key = `k-${Date.now()}`;
      const first = await call('/api/v1/orders', {
        method: 'POST',
        body: JSON.stringify(placeBody()),
        headers: { 'idempotency-key': key },
      });
      expect(first.status).toBe(202);
      const placed = await json(first);
      expect(placed).toEqual({ id: expect.any(String), status: 'pending' });
      const seen = order.calls.findLast((c) => c.method === 'POST');
      expect(seen?.headers['idempotency-key']).toBe(`"${key}"`);
      expect(seen?.headers['x-user-id']).toBe('ada');
      expect(seen?.headers['sluice-caller']).toBe('gateway');
      expect(seen?.body).toEqual(placeBody());
      const again = await call('/api/v1/orders', {
        method: 'POST',
        body: JSON.stringify(placeBody()),
        headers: { 'idempotency-key': key },
      });
      expect(again.status).toBe(202);
      expect((await json(again)).id).toBe(placed.id);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    });

    it('gets an order and a customer’s orders in the public shape; an unknown order is 404', async () => {
      const res = await call('/api/v1/orders', {
        method: 'POST',
        body: JSON.stringify(placeBody('grace')),
        headers: { 'idempotency-key': `g-${Date.now()}` },
      });
      const { id } = await json(res);
      const got = await json(await call(`/api/v1/orders/${id}`));
      expect(got).toEqual({
        id,
        customerId: 'grace',
        status: 'pending',
        items: [{ productId: 'kettle', quantity: 2, unitPrice: { amount: 100, currency: 'USD' } }],
        total: { amount: 200, currency: 'USD' },
      });
      const list = await json(await call('/api/v1/orders?customerId=grace'));
      expect(list.items).toEqual([got]);
      const missing = await call('/api/v1/orders/nope');
      expect(missing.status).toBe(404);
      expect((await json(missing)).reason).toBe('ORDER_NOT_FOUND');
    });

    it('refuses a huge body with 413, forwarding nothing', async () => {
      const before = order.calls.length;
      const huge = { ...placeBody(), customerId: 'x'.repeat(2_000_000) };
      const res = await call('/api/v1/orders', {
        method: 'POST',
        body: JSON.stringify(huge),
        headers: { 'idempotency-key': 'huge' },
      });
      expect(res.status).toBe(413);
      expect(order.calls.length).toBe(before);
    });

    it('refuses any malformed order body with 400 and field detail, forwarding nothing (property)', async () => {
      const valid = placeBody();
      const broken = fc.oneof(
        // Anything that is not even an object with the fields.
        fc.anything().filter((v) => typeof v !== 'object' || v === null || !('customerId' in v)),
        // A valid body with one field made wrong.
        fc
          .record({
            path: fc.constantFrom(
              'customerId',
              'quantity',
              'productId',
              'cardToken',
              'items',
              'payment',
              'extra',
            ),
            value: fc.oneof(
              fc.constantFrom(0, -1, 1.5, 10_001, '', 'a b', null, [], {}, true),
              fc.string({ maxLength: 3 }).map((s) => `${s} `),
            ),
          })
          .map(({ path, value }) => {
            const b = structuredClone(valid) as Record<string, unknown> & typeof valid;
            if (path === 'customerId') b.customerId = value as never;
            else if (path === 'quantity') (b.items[0] as Record<string, unknown>).quantity = value;
            else if (path === 'productId') (b.items[0] as Record<string, unknown>).productId = value;
            else if (path === 'cardToken') (b.payment as Record<string, unknown>).cardToken = value;
            else if (path === 'items') b.items = (Array.isArray(value) ? value : [value]) as never;
            else if (path === 'payment') b.payment = value as never;
            else b.extra = value;
            return b;
          }),
      );
      const before = order.calls.length;
      await fc.assert(
        fc.asyncProperty(broken, async (body) => {
          const res = await call('/api/v1/orders', {
            method: 'POST',
            body: JSON.stringify(body),
            headers: { 'idempotency-key': 'prop' },
          });
          expect(res.status).toBe(400);
          const problem = await json(res);
          expect(problem.errors?.length ?? 0, JSON.stringify(problem)).toBeGreaterThan(0);
          expect(problem.errors[0].field).toMatch(/^body/);
        }),
        { numRuns: 60 },
      );
      expect(order.calls.length).toBe(before);
    });
  });

  describe('live order status (SSE)', () => {
    async function place(customerId: string): Promise<FixtureOrder> {
      const res = await call('/api/v1/orders', {
        method: 'POST',
        body: JSON.stringify(placeBody(customerId)),
        headers: { 'idempotency-key': `${customerId}-${Math.random()}` },
      });
      return order.orders.get((await json(res)).id) as FixtureOrder;
    }
    /** Reads an event stream until it ends, calling `onEvent` per status. */
    async function read(
      res: Response,
      onEvent: (e: { status: string; reason?: string }) => void,
      onHeartbeat: () => void = () => {},
    ) {
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      let heartbeats = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { heartbeats };
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(': heartbeat')) {
            heartbeats++;
            onHeartbeat();
          }
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (block.includes('event: status') && data) onEvent(JSON.parse(data.slice(6)));
          end = buffer.indexOf('\n\n');
        }
      }
    }

    it('sends the current status, then each change, and ends after a terminal one; one poller per order', async () => {
      const o = await place('sse1');
      const [a, b] = await Promise.all([
        call(`/api/v1/orders/${o.id}/events`),
        call(`/api/v1/orders/${o.id}/events`),
      ]);
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toMatch(/text\/event-stream/);
      const seenA: { status: string; reason?: string }[] = [];
      const seenB: { status: string; reason?: string }[] = [];
      let beats = 0;
      const doneA = read(
        a,
        (e) => seenA.push(e),
        () => beats++,
      );
      const doneB = read(b, (e) => seenB.push(e));
      await until(() => seenA.length === 1 && seenB.length === 1, 20_000, 'the first events');
      expect(gw.service.statusFeed.activePollers).toBe(1);
      // An idle stream carries heartbeats (every 50 ms here) until something changes.
      await until(() => beats >= 2, 20_000, 'heartbeats');
      o.status = 'cancelled';
      o.reason = 'PAYMENT_DECLINED';
      const { heartbeats } = await doneA;
      await doneB;
      expect(seenA).toEqual([
        { id: o.id, status: 'pending' },
        { id: o.id, status: 'cancelled', reason: 'PAYMENT_DECLINED' },
      ]);
      expect(seenB).toEqual(seenA);
      expect(heartbeats).toBeGreaterThanOrEqual(2);
      await until(() => gw.service.statusFeed.activePollers === 0, 10_000, 'the poller to stop');
    });

    it('a stream on a finished order sends its status once and ends; the token may come as access_token', async () => {
      const o = await place('sse2');
      o.status = 'confirmed';
      const seen: unknown[] = [];
      const res = await call(`/api/v1/orders/${o.id}/events?access_token=${customer}`, { token: null });
      expect(res.status).toBe(200);
      await read(res, (e) => seen.push(e));
      // Only the stream takes a query token.
      expect((await call(`/api/v1/orders/${o.id}?access_token=${customer}`, { token: null })).status).toBe(
        401,
      );
      expect(seen).toEqual([{ id: o.id, status: 'confirmed' }]);
    });

    it('frees the poller when the client goes away, and answers 404 for an unknown order', async () => {
      const o = await place('sse3');
      const abort = new AbortController();
      const res = await call(`/api/v1/orders/${o.id}/events`, { signal: abort.signal });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      expect(gw.service.statusFeed.activePollers).toBe(1);
      abort.abort();
      await until(() => gw.service.statusFeed.activePollers === 0, 10_000, 'the poller to stop');
      const missing = await call('/api/v1/orders/ghost/events');
      expect(missing.status).toBe(404);
      expect((await json(missing)).reason).toBe('ORDER_NOT_FOUND');
    });
  });

  describe('GraphQL federation', () => {
    const gql = async (query: string, variables?: Record<string, unknown>) => {
      const res = await call('/graphql', { method: 'POST', body: JSON.stringify({ query, variables }) });
      return { status: res.status, body: await json(res) };
    };
    const productGraphqlCalls = async () => {
      const text = await (await fetch(`${product.url}/metrics`)).text();
      return text
        .split('\n')
        .filter(
          (l) =>
            /^\w*http_requests_total\{/.test(l) &&
            l.includes('route="/graphql"') &&
            l.includes('side="server"'),
        )
        .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    };

    it('serves products, product(id) and a GET query', async () => {
      const { body } = await gql(
        '{ products(first: 3) { id name price { amount currency } } product(id: "mug") { name } }',
      );
      expect(body.errors).toBeUndefined();
      expect(body.data.products).toHaveLength(3);
      expect(body.data.product).toEqual({ name: 'Stoneware Mug' });
      const get = await call(`/graphql?query=${encodeURIComponent('{ product(id: "tea") { id } }')}`);
      expect((await json(get)).data).toEqual({ product: { id: 'tea' } });
    });

    it('places an order by mutation and reads it back with order(id); ordersByCustomer with 50 items is one product subgraph call', async () => {
      const ids = (await json(await call('/api/v1/products'))).items.map((p: { id: string }) => p.id);
      const items = Array.from({ length: 50 }, (_, i) => ({ productId: ids[i % ids.length], quantity: 1 }));
      const placed = await gql(
        'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }',
        { input: { customerId: 'bulk', items, payment: { cardToken: 'tok_ok' } } },
      );
      expect(placed.body.errors).toBeUndefined();
      expect(placed.body.data.placeOrder.status).toBe('PENDING');
      expect(order.calls.findLast((c) => c.url === '/graphql')?.headers['x-user-id']).toBe('ada');
      const one = await gql('query($id: ID!) { order(id: $id) { customerId items { product { id } } } }', {
        id: placed.body.data.placeOrder.id,
      });
      expect(one.body.data.order.customerId).toBe('bulk');
      const before = await productGraphqlCalls();
      const list = await gql(
        '{ ordersByCustomer(customerId: "bulk") { items { quantity product { id name price { amount } } } } }',
      );
      expect(list.body.errors).toBeUndefined();
      const lines = list.body.data.ordersByCustomer[0].items;
      expect(lines).toHaveLength(50);
      expect(lines[0].product.name).toEqual(expect.any(String));
      expect((await productGraphqlCalls()) - before).toBe(1);
    });

    it('answers bad input with GraphQL errors', async () => {
      for (const query of ['{ nope }', '{', 'query { product { id } }']) {
        const { body } = await gql(query);
        expect(body.errors?.length, query).toBeGreaterThan(0);
      }
      const bad = await gql(
        'mutation { placeOrder(input: { customerId: "x", items: [{ productId: "kettle", quantity: "two" }], payment: { cardToken: "tok_ok" } }) { id } }',
      );
      expect(bad.body.errors?.length).toBeGreaterThan(0);
    });
  });
});
