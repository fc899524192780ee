/** Reasons the product service answers with. Listed in docs/errors.md. */
export const ProductReasons = {
  /** No product with this id (`not_found`). */
  NOT_FOUND: 'PRODUCT_NOT_FOUND',
  /** A product that breaks the catalog's rules (`invalid_argument`). */
  INVALID: 'PRODUCT_INVALID',
} as const;
