/**
 * Business outcomes of the inventory domain. Plain classes: the domain imports
 * nothing outward; `api/` maps each `reason` to a transport code.
 */

/** Base of every inventory domain error; `reason` is stable and listed in docs/errors.md. */
export abstract class InventoryError extends Error {
  abstract readonly reason: string;
}

/** A product the inventory does not stock. */
export class UnknownProductError extends InventoryError {
  readonly reason = 'INVENTORY_UNKNOWN_PRODUCT';
  constructor(readonly productId: string) {
    super(`unknown product ${productId}`);
  }
}

/** Fewer units available than asked for; nothing was reserved. */
export class InsufficientStockError extends InventoryError {
  readonly reason = 'INVENTORY_INSUFFICIENT_STOCK';
  constructor(
    readonly productId: string,
    readonly requested: number,
    readonly available: number,
  ) {
    super(`insufficient stock for ${productId}: requested ${requested}, available ${available}`);
  }
}

/** No reservation with this id. */
export class ReservationNotFoundError extends InventoryError {
  readonly reason = 'INVENTORY_RESERVATION_NOT_FOUND';
  constructor(readonly reservationId: string) {
    super(`no reservation ${reservationId}`);
  }
}

/** A reservation cannot make this move from its current status (e.g. commit a released one). */
export class ReservationStateError extends InventoryError {
  readonly reason = 'INVENTORY_RESERVATION_STATE';
  constructor(
    readonly reservationId: string,
    readonly status: string,
    readonly action: string,
  ) {
    super(`reservation ${reservationId} is ${status}: cannot ${action}`);
  }
}

/** A reservation request that breaks the rules (no lines, a product twice, quantity out of range). */
export class InvalidReservationError extends InventoryError {
  readonly reason = 'INVENTORY_INVALID_RESERVATION';
}
