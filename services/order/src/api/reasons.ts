/** Reasons the order service answers with. Listed in docs/errors.md. */
export const OrderReasons = {
  /** An order that breaks the rules: no items, a product twice, a bad quantity, mixed currencies (`invalid_argument`). */
  INVALID: 'ORDER_INVALID',
  /** The order names a product the catalog does not have (`failed_precondition`, each item named). */
  UNKNOWN_PRODUCT: 'ORDER_UNKNOWN_PRODUCT',
  /** No order with this id (`not_found`). */
  NOT_FOUND: 'ORDER_NOT_FOUND',
  /** The order cannot move to that status from where it is (`failed_precondition`). */
  INVALID_TRANSITION: 'ORDER_INVALID_TRANSITION',
} as const;
