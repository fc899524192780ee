import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InsufficientStockError,
  InvalidReservationError,
  ReservationStateError,
  UnknownProductError,
} from './inventory-errors.js';
import { commit, expire, type Reservation, release, reserve } from './reservation.js';
import { newStock, received, type Stock } from './stock.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);

function book(...rows: Stock[]): Map<string, Stock> {
  return new Map(rows.map((s) => [s.productId, s]));
}
function apply(stock: Map<string, Stock>, changed: readonly Stock[]): void {
  for (const s of changed) stock.set(s.productId, s);
}
const request = (items: { productId: string; quantity: number }[], id = 'r-1') => ({
  reservationId: id,
  orderId: `o-${id}`,
  items,
  idempotencyKey: `k-${id}`,
  now: T0,
  expiresAt: later(15 * 60_000),
});

describe('reserve', () => {
  it('holds every line and leaves the total unchanged', () => {
    const stock = book(newStock('p1', 5), newStock('p2', 2));
    const { reservation, stock: changed } = reserve(
      stock,
      request([
        { productId: 'p1', quantity: 3 },
        { productId: 'p2', quantity: 2 },
      ]),
    );
    expect(reservation.status).toBe('active');
    expect(changed).toEqual([
      { productId: 'p1', available: 2, reserved: 3, sold: 0 },
      { productId: 'p2', available: 0, reserved: 2, sold: 0 },
    ]);
  });

  it('reserves nothing when one line cannot be held', () => {
    const stock = book(newStock('p1', 5), newStock('p2', 1));
    expect(() =>
      reserve(
        stock,
        request([
          { productId: 'p1', quantity: 1 },
          { productId: 'p2', quantity: 2 },
        ]),
      ),
    ).toThrow(InsufficientStockError);
    expect(stock.get('p1')?.available).toBe(5);
  });

  it('refuses an unknown product, an empty request, a duplicate product and bad quantities', () => {
    const stock = book(newStock('p1', 5));
    expect(() => reserve(stock, request([{ productId: 'nope', quantity: 1 }]))).toThrow(UnknownProductError);
    expect(() => reserve(stock, request([]))).toThrow(InvalidReservationError);
    expect(() =>
      reserve(
        stock,
        request([
          { productId: 'p1', quantity: 1 },
          { productId: 'p1', quantity: 1 },
        ]),
      ),
    ).toThrow(InvalidReservationError);
    for (const quantity of [0, -1, 1.5, 10_001]) {
      expect(() => reserve(stock, request([{ productId: 'p1', quantity }]))).toThrow(InvalidReservationError);
    }
  });
});

describe('release, expire and commit', () => {
  const setup = () => {
    const stock = book(newStock('p1', 5));
    const { reservation, stock: changed } = reserve(stock, request([{ productId: 'p1', quantity: 2 }]));
    apply(stock, changed);
    return { stock, reservation };
  };

  it('release gives units back once; a second release changes nothing', () => {
    const { stock, reservation } = setup();
    const first = release(stock, reservation, later(1));
    apply(stock, first.stock);
    expect(stock.get('p1')).toEqual({ productId: 'p1', available: 5, reserved: 0, sold: 0 });
    const second = release(stock, first.reservation, later(2));
    expect(second.stock).toEqual([]);
    expect(second.reservation.status).toBe('released');
  });

  it('expire acts only once the reservation is due', () => {
    const { stock, reservation } = setup();
    expect(expire(stock, reservation, later(60_000)).stock).toEqual([]);
    const due = expire(stock, reservation, reservation.expiresAt);
    expect(due.reservation.status).toBe('expired');
    expect(due.stock[0]?.available).toBe(5);
  });

  it('commit sells held units; a released reservation cannot be committed, a committed one not released', () => {
    const { stock, reservation } = setup();
    const committed = commit(stock, reservation, later(1));
    expect(committed.stock[0]).toEqual({ productId: 'p1', available: 3, reserved: 0, sold: 2 });
    expect(() => release(stock, committed.reservation, later(2))).toThrow(ReservationStateError);
    const released = release(stock, reservation, later(1)).reservation;
    expect(() => commit(stock, released, later(2))).toThrow(ReservationStateError);
  });
});

describe('stock conservation', () => {
  type Op =
    | { kind: 'reserve'; items: { productId: string; quantity: number }[] }
    | { kind: 'release' | 'commit' | 'expire'; index: number; at: number };
  const product = fc.constantFrom('p1', 'p2', 'p3');
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('reserve' as const),
      items: fc.uniqueArray(fc.record({ productId: product, quantity: fc.integer({ min: -1, max: 8 }) }), {
        selector: (l) => l.productId,
        maxLength: 3,
      }),
    }),
    fc.record({
      kind: fc.constantFrom('release' as const, 'commit' as const, 'expire' as const),
      index: fc.nat(20),
      at: fc.integer({ min: 0, max: 30 * 60_000 }),
    }),
  );

  it('keeps available + reserved + sold constant and never negative, whatever happens', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const stock = book(newStock('p1', 10), newStock('p2', 3), newStock('p3', 0));
        const totals = new Map([...stock.values()].map((s) => [s.productId, received(s)]));
        const reservations: Reservation[] = [];
        for (const [n, o] of ops.entries()) {
          try {
            if (o.kind === 'reserve') {
              const r = reserve(stock, request(o.items, `r-${n}`));
              apply(stock, r.stock);
              reservations.push(r.reservation);
              continue;
            }
            const target = reservations[o.index % Math.max(1, reservations.length)];
            if (!target) continue;
            const move = o.kind === 'release' ? release : o.kind === 'commit' ? commit : expire;
            const r = move(stock, target, later(o.at));
            apply(stock, r.stock);
            reservations[reservations.indexOf(target)] = r.reservation;
          } catch (e) {
            // Business refusals are expected; anything else is a bug.
            if (
              !(
                e instanceof InvalidReservationError ||
                e instanceof InsufficientStockError ||
                e instanceof ReservationStateError
              )
            )
              throw e;
          }
          for (const s of stock.values()) {
            expect(received(s)).toBe(totals.get(s.productId));
            expect(Math.min(s.available, s.reserved, s.sold)).toBeGreaterThanOrEqual(0);
          }
          // What active reservations hold is exactly what is reserved.
          const held = new Map<string, number>();
          for (const r of reservations.filter((x) => x.status === 'active'))
            for (const l of r.items) held.set(l.productId, (held.get(l.productId) ?? 0) + l.quantity);
          for (const s of stock.values()) expect(s.reserved).toBe(held.get(s.productId) ?? 0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
