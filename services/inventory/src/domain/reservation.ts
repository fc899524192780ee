import {
  InsufficientStockError,
  InvalidReservationError,
  ReservationStateError,
  UnknownProductError,
} from './inventory-errors.js';
import { hold, type Stock, sell, unhold } from './stock.js';

/** A product and a number of its units. */
export interface StockLine {
  readonly productId: string;
  readonly quantity: number;
}

/** Where a reservation stands. `active` is the only status that holds stock. */
export type ReservationStatus = 'active' | 'released' | 'expired' | 'committed';

/** Stock held for one order until it is committed, released or expires. */
export interface Reservation {
  readonly id: string;
  readonly orderId: string;
  readonly items: readonly StockLine[];
  readonly status: ReservationStatus;
  /** The key of the request that created it: the same key never reserves twice. */
  readonly idempotencyKey: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** When it left `active`. */
  readonly settledAt?: Date;
}

/** Largest quantity of one line, and most lines of one reservation. */
export const MAX_LINE_QUANTITY = 10_000;
export const MAX_LINES = 100;

/** What a reservation request carries. */
export interface ReserveRequest {
  readonly reservationId: string;
  readonly orderId: string;
  readonly items: readonly StockLine[];
  readonly idempotencyKey: string;
  readonly now: Date;
  readonly expiresAt: Date;
}

/** The result of a move: the reservation as it now stands and the stock rows it changed. */
export interface StockChange {
  readonly reservation: Reservation;
  readonly stock: readonly Stock[];
}

/**
 * Reserves every line or nothing. `stock` holds the current stock of (at
 * least) every product named in the request.
 *
 * @throws InvalidReservationError for an empty request, a product twice or a quantity out of range
 * @throws UnknownProductError for a product with no stock row
 * @throws InsufficientStockError for the first line that cannot be held
 */
export function reserve(stock: ReadonlyMap<string, Stock>, request: ReserveRequest): StockChange {
  validateLines(request.items);
  if (!(request.expiresAt.getTime() > request.now.getTime())) {
    throw new InvalidReservationError('a reservation must expire after it is made');
  }
  const changed: Stock[] = [];
  for (const line of request.items) {
    const current = stock.get(line.productId);
    if (!current) throw new UnknownProductError(line.productId);
    if (current.available < line.quantity) {
      throw new InsufficientStockError(line.productId, line.quantity, current.available);
    }
    changed.push(hold(current, line.quantity));
  }
  return {
    reservation: {
      id: request.reservationId,
      orderId: request.orderId,
      items: request.items.map((l) => ({ productId: l.productId, quantity: l.quantity })),
      status: 'active',
      idempotencyKey: request.idempotencyKey,
      createdAt: request.now,
      expiresAt: request.expiresAt,
    },
    stock: changed,
  };
}

/**
 * Gives an active reservation's units back. Releasing a reservation that is
 * already released or expired changes nothing (idempotent); a committed one
 * cannot be released (its units are sold).
 */
export function release(stock: ReadonlyMap<string, Stock>, reservation: Reservation, now: Date): StockChange {
  if (reservation.status === 'released' || reservation.status === 'expired')
    return { reservation, stock: [] };
  if (reservation.status !== 'active')
    throw new ReservationStateError(reservation.id, reservation.status, 'release');
  return settle(stock, reservation, 'released', now, unhold);
}

/** Expires an active reservation whose time has come; anything else is left as it is. */
export function expire(stock: ReadonlyMap<string, Stock>, reservation: Reservation, now: Date): StockChange {
  if (reservation.status !== 'active' || reservation.expiresAt.getTime() > now.getTime()) {
    return { reservation, stock: [] };
  }
  return settle(stock, reservation, 'expired', now, unhold);
}

/**
 * Turns an active reservation's units into sold ones. Committing twice changes
 * nothing; a released or expired reservation cannot be committed.
 */
export function commit(stock: ReadonlyMap<string, Stock>, reservation: Reservation, now: Date): StockChange {
  if (reservation.status === 'committed') return { reservation, stock: [] };
  if (reservation.status !== 'active')
    throw new ReservationStateError(reservation.id, reservation.status, 'commit');
  return settle(stock, reservation, 'committed', now, sell);
}

function settle(
  stock: ReadonlyMap<string, Stock>,
  reservation: Reservation,
  status: ReservationStatus,
  now: Date,
  move: (s: Stock, units: number) => Stock,
): StockChange {
  const changed = reservation.items.map((line) => {
    const current = stock.get(line.productId);
    // Stock rows are never deleted while a reservation holds them.
    if (!current) throw new UnknownProductError(line.productId);
    return move(current, line.quantity);
  });
  return { reservation: { ...reservation, status, settledAt: now }, stock: changed };
}

/** Checks the lines of a request; throws {@link InvalidReservationError} naming the first problem. */
export function validateLines(items: readonly StockLine[]): void {
  if (items.length === 0) throw new InvalidReservationError('a reservation needs at least one line');
  if (items.length > MAX_LINES) throw new InvalidReservationError(`at most ${MAX_LINES} lines`);
  const seen = new Set<string>();
  for (const line of items) {
    if (seen.has(line.productId))
      throw new InvalidReservationError(`product ${line.productId} appears twice`);
    seen.add(line.productId);
    if (!Number.isSafeInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_LINE_QUANTITY) {
      throw new InvalidReservationError(`quantity of ${line.productId} must be 1…${MAX_LINE_QUANTITY}`);
    }
  }
}
