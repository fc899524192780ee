import { UnknownProductError } from '../domain/inventory-errors.js';
import type { InventoryStore } from './inventory.store.js';

/** The answer to "can I have `quantity` of this product?". */
export interface Availability {
  readonly productId: string;
  readonly available: boolean;
  /** Units available now. */
  readonly currentStock: number;
}

/** Answers availability from current stock; an unknown product is an error, not "unavailable". */
export async function checkAvailability(
  store: InventoryStore,
  productId: string,
  quantity: number,
): Promise<Availability> {
  const stock = await store.getStock(productId);
  if (!stock) throw new UnknownProductError(productId);
  return { productId, available: stock.available >= quantity, currentStock: stock.available };
}
