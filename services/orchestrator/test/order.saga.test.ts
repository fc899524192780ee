import { SluiceError } from '@sluice/errors';
import { createOrchestrator, createSqliteSagaStore, type Orchestrator } from '@sluice/saga';
import { afterEach, describe, expect, it } from 'vitest';
import { defineOrderSaga, type OrderSagaInput, orderSagaId } from '../src/application/order.saga.js';
import type { EmailCommand } from '../src/application/order-flow.ports.js';

/**
 * The services the saga drives, in process: each keeps its effects keyed by
 * idempotency key, as the real services do, so the test can check that no
 * effect happens twice and that every effect is undone on failure.
 */
function world(stock: Record<string, number>) {
  const reservations = new Map<
    string,
    { id: string; items: { productId: string; quantity: number }[]; released: boolean }
  >();
  const charges = new Map<string, { id: string; amount: number; refunded: boolean }>();
  const orders = new Map<string, { status: string; reason?: string }>();
  const mail: EmailCommand[] = [];
  let mailFails = false;
  const deps = {
    inventory: {
      async reserve(r: {
        orderId: string;
        items: { productId: string; quantity: number }[];
        idempotencyKey: string;
      }) {
        const existing = reservations.get(r.idempotencyKey);
        if (existing) return { reservationId: existing.id, expiresAt: new Date().toISOString() };
        for (const i of r.items) {
          if ((stock[i.productId] ?? 0) < i.quantity)
            throw new SluiceError({
              code: 'failed_precondition',
              reason: 'INVENTORY_INSUFFICIENT_STOCK',
              message: `not enough ${i.productId}`,
            });
        }
        for (const i of r.items) stock[i.productId] = (stock[i.productId] ?? 0) - i.quantity;
        const id = `res-${reservations.size + 1}`;
        reservations.set(r.idempotencyKey, { id, items: r.items, released: false });
        return { reservationId: id, expiresAt: new Date().toISOString() };
      },
      async release(reservationId: string) {
        const r = [...reservations.values()].find((x) => x.id === reservationId);
        if (!r || r.released) return;
        r.released = true;
        for (const i of r.items) stock[i.productId] = (stock[i.productId] ?? 0) + i.quantity;
      },
    },
    payment: {
      async charge(r: { amount: { amount: number }; cardToken: string; idempotencyKey: string }) {
        if (r.cardToken === 'tok_declined')
          throw new SluiceError({
            code: 'failed_precondition',
            reason: 'PAYMENT_DECLINED',
            message: 'card_declined',
          });
        const existing = charges.get(r.idempotencyKey) ?? {
          id: `pay-${charges.size + 1}`,
          amount: r.amount.amount,
          refunded: false,
        };
        charges.set(r.idempotencyKey, existing);
        return { paymentId: existing.id };
      },
      async refund(paymentId: string) {
        const c = [...charges.values()].find((x) => x.id === paymentId);
        if (c) c.refunded = true;
      },
    },
    orders: {
      async confirm(orderId: string) {
        orders.set(orderId, { status: 'confirmed' });
      },
      async cancel(orderId: string, reason: string) {
        orders.set(orderId, { status: 'cancelled', reason });
      },
    },
    notifications: {
      async send(c: EmailCommand) {
        if (mailFails)
          throw new SluiceError({
            code: 'unavailable',
            reason: 'TEST_MAIL_DOWN',
            message: 'mail queue down',
          });
        if (!mail.some((m) => m.messageId === c.messageId)) mail.push(c);
      },
    },
  };
  return { deps, stock, reservations, charges, orders, mail, failMail: (v: boolean) => (mailFails = v) };
}

const input = (orderId: string, over: Partial<OrderSagaInput> = {}): OrderSagaInput => ({
  orderId,
  customerId: 'ada',
  items: [{ productId: 'mug', quantity: 2, unitPrice: { amount: 1299, currency: 'USD' } }],
  total: { amount: 2598, currency: 'USD' },
  payment: { cardToken: 'tok_ok' },
  ...over,
});

describe('order saga', () => {
  let orchestrator: Orchestrator | undefined;
  afterEach(async () => {
    await orchestrator?.close();
    orchestrator = undefined;
  });

  async function start(saga: ReturnType<typeof defineOrderSaga>): Promise<Orchestrator> {
    const store = createSqliteSagaStore();
    await store.migrate();
    orchestrator = createOrchestrator({ store, sagas: [saga] });
    orchestrator.run();
    return orchestrator;
  }

  async function run(w: ReturnType<typeof world>, i: OrderSagaInput) {
    const saga = defineOrderSaga(w.deps);
    const orchestrator = await start(saga);
    await orchestrator.start(saga, i, { sagaId: orderSagaId(i.orderId) });
    return orchestrator.wait(orderSagaId(i.orderId), { timeoutMs: 20_000 });
  }

  it('reserves, charges, mails and confirms', async () => {
    const w = world({ mug: 5 });
    const saga = await run(w, input('o1'));
    expect(saga.state).toBe('completed');
    expect(w.orders.get('o1')).toEqual({ status: 'confirmed' });
    expect(w.stock.mug).toBe(3);
    expect([...w.charges.values()]).toEqual([{ id: 'pay-1', amount: 2598, refunded: false }]);
    expect(w.mail.map((m) => m.templateId)).toEqual(['order-confirmed']);
  });

  it('cancels an order it cannot stock, charging nothing', async () => {
    const w = world({ mug: 1 });
    const saga = await run(w, input('o2'));
    expect(saga.state).toBe('failed');
    expect(w.orders.get('o2')).toEqual({ status: 'cancelled', reason: 'INVENTORY_INSUFFICIENT_STOCK' });
    expect(w.charges.size).toBe(0);
    expect(w.stock.mug).toBe(1);
    expect(w.mail.map((m) => m.templateId)).toEqual(['order-cancelled']);
  });

  it('releases the stock of a declined card and cancels with the payment reason', async () => {
    const w = world({ mug: 5 });
    const saga = await run(w, input('o3', { payment: { cardToken: 'tok_declined' } }));
    expect(saga.state).toBe('failed');
    expect(w.orders.get('o3')).toEqual({ status: 'cancelled', reason: 'PAYMENT_DECLINED' });
    expect(w.stock.mug).toBe(5);
    expect([...w.reservations.values()][0]?.released).toBe(true);
  });

  it('confirms the order even when the confirmation mail cannot be queued', async () => {
    const w = world({ mug: 5 });
    w.failMail(true);
    const saga = await run(w, input('o4'));
    expect(saga.state).toBe('completed');
    expect(w.orders.get('o4')).toEqual({ status: 'confirmed' });
    expect(w.mail).toEqual([]);
  });

  it('starts one saga per order, however often the order.placed event arrives', async () => {
    const w = world({ mug: 5 });
    const saga = defineOrderSaga(w.deps);
    const o = await start(saga);
    const starts = await Promise.all(
      [1, 2, 3].map(() => o.start(saga, input('o5'), { sagaId: orderSagaId('o5') })),
    );
    expect(starts.filter((s) => s.created)).toHaveLength(1);
    await o.wait(orderSagaId('o5'), { timeoutMs: 20_000 });
    expect(w.stock.mug).toBe(3);
    expect(w.charges.size).toBe(1);
  });
});
