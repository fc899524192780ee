import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cancelOrder, confirmOrder, type Order, placeOrder } from './order.js';
import { InvalidOrderError, InvalidTransitionError } from './order-errors.js';

const now = new Date('2026-01-01T00:00:00Z');
const usd = (amount: number) => ({ amount, currency: 'USD' });

describe('placeOrder', () => {
  it('totals the priced lines', () => {
    const o = placeOrder({
      id: 'o1',
      customerId: 'c1',
      now,
      items: [
        { productId: 'p1', quantity: 2, unitPrice: usd(1999) },
        { productId: 'p2', quantity: 1, unitPrice: usd(500) },
      ],
    });
    expect(o.total).toEqual(usd(4498));
    expect(o.status).toBe('pending');
    expect(o.history).toEqual([{ status: 'pending', at: now }]);
  });

  it('names the offending field of an invalid order', () => {
    const bad = (
      items: { productId: string; quantity: number; unitPrice: { amount: number; currency: string } }[],
    ) => {
      try {
        placeOrder({ id: 'o', customerId: 'c', now, items });
      } catch (e) {
        return e instanceof InvalidOrderError ? e.field : e;
      }
    };
    expect(bad([])).toBe('items');
    expect(bad([{ productId: 'p', quantity: 0, unitPrice: usd(1) }])).toBe('items.0.quantity');
    expect(
      bad([
        { productId: 'p', quantity: 1, unitPrice: usd(1) },
        { productId: 'p', quantity: 1, unitPrice: usd(1) },
      ]),
    ).toBe('items.1.productId');
    expect(
      bad([
        { productId: 'p', quantity: 1, unitPrice: usd(1) },
        { productId: 'q', quantity: 1, unitPrice: { amount: 1, currency: 'EUR' } },
      ]),
    ).toBe('items.1.productId');
  });
});

describe('order status', () => {
  const pending = () =>
    placeOrder({
      id: 'o1',
      customerId: 'c1',
      now,
      items: [{ productId: 'p', quantity: 1, unitPrice: usd(1) }],
    });

  it('reaches one terminal status and stays there, whatever sequence of moves arrives', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('confirm', 'cancel'), { maxLength: 10 }), (moves) => {
        let o: Order = pending();
        let terminal: Order['status'] | undefined;
        for (const m of moves) {
          try {
            o = m === 'confirm' ? confirmOrder(o, now) : cancelOrder(o, 'PAYMENT_DECLINED', 'declined', now);
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidTransitionError);
          }
          terminal ??= o.status === 'pending' ? undefined : o.status;
          if (terminal) expect(o.status).toBe(terminal);
        }
        // The history holds exactly the statuses the order went through.
        expect(o.history.map((h) => h.status)).toEqual(terminal ? ['pending', terminal] : ['pending']);
      }),
    );
  });

  it('keeps the cancellation reason', () => {
    const o = cancelOrder(pending(), 'INVENTORY_INSUFFICIENT_STOCK', 'only 1 left', now);
    expect(o).toMatchObject({
      status: 'cancelled',
      reason: 'INVENTORY_INSUFFICIENT_STOCK',
      message: 'only 1 left',
    });
  });
});
