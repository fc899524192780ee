import { Type } from '@fastify/type-provider-typebox';
import { SluiceError } from '@sluice/errors';
import type { HttpServer } from '@sluice/http';
import { graphqlRoute } from '@sluice/service';
import type { Catalog } from '../application/catalog.use-case.js';
import { InvalidProductError, type Product, ProductNotFoundError } from '../domain/product.js';
import { productContext, productSubgraph } from './product.subgraph.js';
import { ProductReasons } from './reasons.js';

const Money = Type.Object({ amount: Type.Integer(), currency: Type.String() });
const ProductView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  price: Money,
  imageUrl: Type.String(),
});
const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@-]+$' });

/** Maps the catalog's domain errors to transport errors. */
export function toApiError(err: unknown): unknown {
  if (err instanceof ProductNotFoundError)
    return new SluiceError({
      code: 'not_found',
      reason: ProductReasons.NOT_FOUND,
      message: err.message,
      cause: err,
    });
  if (err instanceof InvalidProductError)
    return new SluiceError({
      code: 'invalid_argument',
      reason: ProductReasons.INVALID,
      message: err.message,
      details: { violations: [{ field: err.field, message: err.message }] },
      cause: err,
    });
  return err;
}

/** The catalog's REST routes and its GraphQL subgraph. */
export function productRoutes(app: HttpServer, catalog: Catalog): void {
  app.get(
    '/api/v1/products',
    {
      schema: {
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })), after: Type.Optional(Id) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(ProductView) }) },
      },
    },
    async (request) => ({ items: await catalog.list(request.query.limit ?? 100, request.query.after) }),
  );

  app.get(
    '/api/v1/products/:id',
    { schema: { params: Type.Object({ id: Id }), response: { 200: ProductView } } },
    async (request): Promise<Product> => {
      try {
        return await catalog.get(request.params.id);
      } catch (err) {
        throw toApiError(err);
      }
    },
  );

  // Batched look-up for other services (the order service prices orders with one call).
  app.get(
    // A custom method (AIP-136 style); '::' is a literal ':' to Fastify's router.
    '/api/v1/products::batch',
    {
      schema: {
        querystring: Type.Object(
          { ids: Type.String({ minLength: 1, maxLength: 13_000 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(ProductView) }) },
      },
    },
    async (request) => {
      const ids = [...new Set(request.query.ids.split(','))].slice(0, 100);
      return { items: (await catalog.getMany(ids)).filter((p): p is Product => p !== undefined) };
    },
  );

  graphqlRoute(app, { schema: productSubgraph(catalog), context: () => productContext(catalog) });
}
