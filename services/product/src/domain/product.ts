/** Integer minor units and a currency. */
export interface Amount {
  readonly amount: number;
  readonly currency: string;
}

/** A product of the catalog. */
export interface Product {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly price: Amount;
  readonly imageUrl: string;
}

/** A product that breaks the catalog's rules. */
export class InvalidProductError extends Error {
  readonly reason = 'PRODUCT_INVALID';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** No product with this id. */
export class ProductNotFoundError extends Error {
  readonly reason = 'PRODUCT_NOT_FOUND';
  constructor(readonly productId: string) {
    super(`no product ${productId}`);
  }
}

/** Checks a product; throws {@link InvalidProductError} naming the first bad field. */
export function validateProduct(p: Product): Product {
  if (!/^[A-Za-z0-9._:@-]{1,128}$/.test(p.id))
    throw new InvalidProductError('id must be 1–128 id characters', 'id');
  if (p.name.trim().length === 0 || p.name.length > 200)
    throw new InvalidProductError('name must be 1–200 characters', 'name');
  if (p.description.length > 2000)
    throw new InvalidProductError('description is at most 2000 characters', 'description');
  if (!Number.isSafeInteger(p.price.amount) || p.price.amount <= 0)
    throw new InvalidProductError('price must be a positive integer of minor units', 'price.amount');
  if (!/^[A-Z]{3}$/.test(p.price.currency))
    throw new InvalidProductError('currency must be an ISO 4217 code', 'price.currency');
  if (p.imageUrl.length > 2048 || !/^(https?:\/\/|\/)/.test(p.imageUrl))
    throw new InvalidProductError('imageUrl must be an http(s) URL or an absolute path', 'imageUrl');
  return p;
}
