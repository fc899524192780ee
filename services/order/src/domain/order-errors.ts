/** Business outcomes of the order domain; `api/` maps each `reason` to a transport code. */

/** Base of every order domain error. */
export abstract class OrderError extends Error {
  abstract readonly reason: string;
}

/** An order that breaks the rules: no lines, a product twice, bad quantity, mixed currencies. */
export class InvalidOrderError extends OrderError {
  readonly reason = 'ORDER_INVALID';
  constructor(
    message: string,
    /** The offending field, e.g. `items.2.quantity`. */
    readonly field: string,
  ) {
    super(message);
  }
}

/** A product the catalog does not have. */
export class UnknownProductError extends OrderError {
  readonly reason = 'ORDER_UNKNOWN_PRODUCT';
  constructor(readonly productIds: readonly string[]) {
    super(`unknown product${productIds.length > 1 ? 's' : ''} ${productIds.join(', ')}`);
  }
}

/** No order with this id. */
export class OrderNotFoundError extends OrderError {
  readonly reason = 'ORDER_NOT_FOUND';
  constructor(readonly orderId: string) {
    super(`no order ${orderId}`);
  }
}

/** The order cannot move to that status from where it is (e.g. confirm a cancelled order). */
export class InvalidTransitionError extends OrderError {
  readonly reason = 'ORDER_INVALID_TRANSITION';
  constructor(
    readonly orderId: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`order ${orderId} is ${from}: cannot become ${to}`);
  }
}
