import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, http, type RunningShop, startShop } from './shop-harness.js';

interface Order {
  id: string;
  status: 'pending' | 'confirmed' | 'cancelled';
  reason?: string;
  items: { productId: string; quantity: number }[];
  total: { amount: number; currency: string };
}
interface Stock {
  productId: string;
  available: number;
  reserved: number;
  sold: number;
}

/**
 * The whole shop as real processes (`npm start`'s supervisor, embedded SQLite
 * databases and bus), driven over its REST APIs. After every test the
 * invariants hold: stock is conserved, each confirmed order is charged once,
 * each cancelled one zero net.
 */
describe('the shop, end to end', () => {
  let shop: RunningShop;
  let initial: Map<string, number>;

  beforeAll(async () => {
    shop = await startShop({ EMAIL_MAX_ATTEMPTS: '2', EMAIL_RETRY_BASE_MS: '100' });
    initial = new Map((await stock()).map((s) => [s.productId, s.available + s.reserved + s.sold]));
  }, 180_000);
  afterAll(async () => {
    await shop?.stop();
  });

  const stock = async () =>
    (await http<{ items: Stock[] }>('GET', `${shop.urls.inventory}/api/v1/inventory`)).body.items;
  const place = (body: unknown, key = randomUUID()) =>
    http<{ id: string; status: string; reason?: string }>('POST', `${shop.urls.order}/api/v1/orders`, body, {
      'idempotency-key': key,
      'sluice-caller': 'gateway',
    });
  const order = async (id: string) =>
    (await http<Order>('GET', `${shop.urls.order}/api/v1/orders/${id}`)).body;
  const settled = (id: string) =>
    eventually(
      async () => {
        const o = await order(id);
        return o.status === 'pending' ? undefined : o;
      },
      30_000,
      `order ${id} to settle`,
    );
  const body = (customerId: string, productId: string, quantity: number, cardToken = 'tok_ok') => ({
    customerId,
    items: [{ productId, quantity }],
    payment: { cardToken },
  });

  async function invariants() {
    // Stock conserved, and nothing left reserved once every order settled.
    const now = await stock();
    for (const s of now)
      expect(s.available + s.reserved + s.sold, s.productId).toBe(initial.get(s.productId));
    const orders = shop.query<{ id: string; status: string; total_amount: number }>(
      'order',
      'SELECT id, status, total_amount FROM orders',
    );
    const payments = shop.query<{ order_id: string; status: string; amount: number }>(
      'payment',
      'SELECT order_id, status, amount FROM payment',
    );
    for (const o of orders) {
      const captured = payments.filter((p) => p.order_id === o.id && p.status === 'captured');
      if (o.status === 'confirmed')
        expect(
          captured.map((p) => p.amount),
          o.id,
        ).toEqual([o.total_amount]);
      if (o.status === 'cancelled') expect(captured, o.id).toEqual([]);
    }
    const sold = shop.query<{ n: number }>(
      'inventory',
      "SELECT count(*) AS n FROM reservation WHERE status = 'committed'",
    )[0]?.n;
    expect(sold).toBe(orders.filter((o) => o.status === 'confirmed').length);
  }

  it('confirms a good order: stock sold, card charged, confirmation mailed', async () => {
    const placed = await place(body('ada', 'mug', 2));
    expect(placed).toMatchObject({ status: 202, body: { status: 'pending' } });
    const o = await settled(placed.body.id);
    expect(o).toMatchObject({ status: 'confirmed', total: { amount: 2598, currency: 'USD' } });
    await eventually(async () => {
      const mail = await http<{ items: { templateId: string }[] }>(
        'GET',
        `${shop.urls.notification}/api/v1/mailbox?to=ada@customers.example`,
      );
      return mail.body.items.some((m) => m.templateId === 'order-confirmed') || undefined;
    });
    await eventually(async () =>
      (await stock()).find((s) => s.productId === 'mug')?.sold === 2 ? true : undefined,
    );
    await invariants();
  });

  it('cancels an order it cannot stock, charging nothing', async () => {
    const o = await settled((await place(body('bob', 'limited', 6))).body.id);
    expect(o).toMatchObject({ status: 'cancelled', reason: 'INVENTORY_INSUFFICIENT_STOCK' });
    await invariants();
  });

  it('cancels a declined card and gives its stock back', async () => {
    const o = await settled((await place(body('cy', 'kettle', 3, 'tok_declined'))).body.id);
    expect(o).toMatchObject({ status: 'cancelled', reason: 'PAYMENT_DECLINED' });
    await eventually(async () =>
      (await stock()).find((s) => s.productId === 'kettle')?.reserved === 0 ? true : undefined,
    );
    await invariants();
  });

  it('creates one order for a request retried with the same Idempotency-Key', async () => {
    const key = randomUUID();
    const [a, b] = await Promise.all([place(body('dee', 'tea', 1), key), place(body('dee', 'tea', 1), key)]);
    const ids = [a, b].filter((r) => r.status === 202).map((r) => r.body.id);
    // The second either replays the first answer or is told the first is still in flight.
    expect([a.status, b.status].every((s) => s === 202 || s === 409)).toBe(true);
    const again = await place(body('dee', 'tea', 1), key);
    expect(again.status).toBe(202);
    expect(new Set([...ids, again.body.id]).size).toBe(1);
    await settled(again.body.id);
    const list = await http<{ items: Order[] }>('GET', `${shop.urls.order}/api/v1/orders?customerId=dee`);
    expect(list.body.items).toHaveLength(1);
    await invariants();
  });

  it('refuses malformed orders with problem+json and writes nothing', async () => {
    for (const bad of [
      {},
      body('eve', 'mug', 0),
      body('eve', 'mug', -1),
      { ...body('eve', 'mug', 1), coupon: 'FREE' },
      body('eve', 'no-such-product', 1),
      { customerId: 'eve', items: [], payment: { cardToken: 'tok_ok' } },
    ]) {
      const r = await place(bad);
      expect(r.status, JSON.stringify(bad)).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }
    const list = await http<{ items: Order[] }>('GET', `${shop.urls.order}/api/v1/orders?customerId=eve`);
    expect(list.body.items).toEqual([]);
  });

  it('confirms orders even when mail fails; the mail lands in the DLQ and replays', async () => {
    await http('POST', `${shop.urls.notification}/admin/faults`, { target: 'mailer.send', kind: 'error' });
    try {
      const o = await settled((await place(body('fay', 'press', 1))).body.id);
      expect(o.status).toBe('confirmed');
      const { createTransport } = await import('@sluice/messaging');
      const transport = await createTransport(`sqlite:${shop.dataDir}/bus.db`);
      try {
        const dead = await eventually(
          async () => {
            const list = await transport.deadLetters.list({ topic: 'email.send' });
            return list.find((d) => Buffer.from(d.body).toString().includes(o.id));
          },
          30_000,
          'the confirmation mail to be dead-lettered',
        );
        expect(dead.attempts).toBe(2);
        await http('DELETE', `${shop.urls.notification}/admin/faults`);
        expect(await transport.deadLetters.replay({ topic: 'email.send', ids: [dead.id] })).toBe(1);
      } finally {
        await transport.close();
      }
      await eventually(
        async () => {
          const mail = await http<{ items: unknown[] }>(
            'GET',
            `${shop.urls.notification}/api/v1/mailbox?to=fay@customers.example`,
          );
          return mail.body.items.length === 1 ? true : undefined;
        },
        30_000,
        'the replayed mail to be delivered',
      );
    } finally {
      await http('DELETE', `${shop.urls.notification}/admin/faults`);
    }
    await invariants();
  });

  it('sends a mail to an impossible address straight to the DLQ, and the order still confirms', async () => {
    // The customer id becomes the address's local part: "x@y" makes "x@y@customers.example".
    const o = await settled((await place(body('gus@nowhere', 'filter', 1))).body.id);
    expect(o.status).toBe('confirmed');
    const { createTransport } = await import('@sluice/messaging');
    const transport = await createTransport(`sqlite:${shop.dataDir}/bus.db`);
    try {
      const dead = await eventually(async () => {
        const list = await transport.deadLetters.list({ topic: 'email.send' });
        return list.find((d) => Buffer.from(d.body).toString().includes(o.id));
      });
      expect(dead).toMatchObject({ reason: 'NOTIFICATION_INVALID_ADDRESS', attempts: 1 });
    } finally {
      await transport.close();
    }
    await invariants();
  });

  it('loses no order when the orchestrator is killed with SIGKILL mid-flow', async () => {
    await http('POST', `${shop.urls.inventory}/admin/faults`, {
      target: 'inventory.ReserveStock',
      kind: 'latency',
      latencyMs: 300,
    });
    const ids = await Promise.all(
      Array.from(
        { length: 8 },
        async (_, i) =>
          (await place(body(`kim${i}`, 'scale', 1, i % 4 === 3 ? 'tok_declined' : 'tok_ok'))).body.id,
      ),
    );
    const pid = await eventually(async () => shop.pidOf('orchestrator'));
    process.kill(pid, 'SIGKILL');
    await http('DELETE', `${shop.urls.inventory}/admin/faults`);
    // The supervisor restarts it; the restarted orchestrator resumes every unfinished saga.
    const ends = await Promise.all(
      ids.map((id) =>
        eventually(
          async () => {
            const o = await order(id).catch(() => undefined);
            return o && o.status !== 'pending' ? o : undefined;
          },
          60_000,
          `order ${id} after the crash`,
        ),
      ),
    );
    expect(ends.filter((o) => o.status === 'confirmed')).toHaveLength(6);
    expect(ends.filter((o) => o.status === 'cancelled').map((o) => o.reason)).toEqual([
      'PAYMENT_DECLINED',
      'PAYMENT_DECLINED',
    ]);
    expect(shop.log()).toMatch(/orchestrator exited; restart #1/);
    await eventually(async () => ((await stock()).every((s) => s.reserved === 0) ? true : undefined));
    await invariants();
  });
});
