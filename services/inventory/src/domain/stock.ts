/**
 * Stock of one product. Units move between three buckets and are never
 * created or destroyed except by {@link restock}:
 * `available + reserved + sold = received` after every operation.
 */
export interface Stock {
  readonly productId: string;
  /** Units that can be reserved now. */
  readonly available: number;
  /** Units held by active reservations. */
  readonly reserved: number;
  /** Units of confirmed orders. */
  readonly sold: number;
}

/** Every unit ever received: the conserved total. */
export function received(stock: Stock): number {
  return stock.available + stock.reserved + stock.sold;
}

/** New stock of a product with `units` available. */
export function newStock(productId: string, units: number): Stock {
  assertUnits(units, 'units');
  return { productId, available: units, reserved: 0, sold: 0 };
}

/** Adds received units to what is available. */
export function restock(stock: Stock, units: number): Stock {
  assertUnits(units, 'units');
  return { ...stock, available: stock.available + units };
}

/** Moves `units` from available to reserved; the caller has checked availability. */
export function hold(stock: Stock, units: number): Stock {
  assertUnits(units, 'units');
  if (units > stock.available)
    throw new RangeError(`hold ${units} of ${stock.productId}: only ${stock.available}`);
  return { ...stock, available: stock.available - units, reserved: stock.reserved + units };
}

/** Gives held units back to available (a released or expired reservation). */
export function unhold(stock: Stock, units: number): Stock {
  assertUnits(units, 'units');
  if (units > stock.reserved)
    throw new RangeError(`unhold ${units} of ${stock.productId}: only ${stock.reserved}`);
  return { ...stock, available: stock.available + units, reserved: stock.reserved - units };
}

/** Turns held units into sold ones (the order was confirmed). */
export function sell(stock: Stock, units: number): Stock {
  assertUnits(units, 'units');
  if (units > stock.reserved)
    throw new RangeError(`sell ${units} of ${stock.productId}: only ${stock.reserved}`);
  return { ...stock, reserved: stock.reserved - units, sold: stock.sold + units };
}

function assertUnits(units: number, name: string): void {
  // A programming error, not a business outcome: requests are validated before they get here.
  if (!Number.isSafeInteger(units) || units < 0)
    throw new RangeError(`${name} must be a non-negative integer`);
}
