/** Reasons the inventory service answers with. Listed in docs/errors.md. */
export const InventoryReasons = {
  /** The inventory does not stock this product (`not_found`). */
  UNKNOWN_PRODUCT: 'INVENTORY_UNKNOWN_PRODUCT',
  /** Fewer units available than asked for; nothing was reserved (`failed_precondition`). */
  INSUFFICIENT_STOCK: 'INVENTORY_INSUFFICIENT_STOCK',
  /** A reservation request breaks the rules: no lines, a product twice, a bad quantity (`invalid_argument`). */
  INVALID_RESERVATION: 'INVENTORY_INVALID_RESERVATION',
  /** No reservation with this id (`not_found`). */
  RESERVATION_NOT_FOUND: 'INVENTORY_RESERVATION_NOT_FOUND',
  /** The reservation cannot make this move from its status (`failed_precondition`). */
  RESERVATION_STATE: 'INVENTORY_RESERVATION_STATE',
} as const;
