import { type Static, Type } from '@fastify/type-provider-typebox';
import { SluiceError } from '@sluice/errors';
import { HttpReasons, type HttpServer, parseIdempotencyKey } from '@sluice/http';
import type { Downstreams } from '../infrastructure/downstreams.js';
import { identityHeaders } from './auth.hook.js';

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@-]+$' });
const Money = Type.Object({ amount: Type.Integer(), currency: Type.String() });

/** The body of `POST /api/v1/orders`, checked at the edge before anything is forwarded. */
export const PlaceOrderBody = Type.Object(
  {
    customerId: Id,
    items: Type.Array(
      Type.Object(
        { productId: Id, quantity: Type.Integer({ minimum: 1, maximum: 10_000 }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
    payment: Type.Object(
      { cardToken: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_]+$' }) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** A product on the public edge. */
export const PublicProduct = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  price: Money,
  imageUrl: Type.String(),
});

/** An order on the public edge (SPEC.md "The public edge"). */
export const PublicOrder = Type.Object({
  id: Type.String(),
  customerId: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('cancelled')]),
  reason: Type.Optional(Type.String()),
  items: Type.Array(Type.Object({ productId: Type.String(), quantity: Type.Integer(), unitPrice: Money })),
  total: Money,
});

type Order = Static<typeof PublicOrder>;

/** Only the public fields of the order service's view. */
export function publicOrder(o: Order): Order {
  return {
    id: o.id,
    customerId: o.customerId,
    status: o.status,
    ...(o.reason ? { reason: o.reason } : {}),
    items: o.items.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPrice: l.unitPrice })),
    total: o.total,
  };
}

/** The public REST edge: catalog and orders, forwarded to the product and order services. */
export function edgeRoutes(app: HttpServer, services: Downstreams): void {
  app.get(
    '/api/v1/products',
    {
      schema: {
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })), after: Type.Optional(Id) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(PublicProduct) }) },
      },
    },
    async (request) => {
      const { body } = await services.product.get<{ items: Static<typeof PublicProduct>[] }>(
        '/api/v1/products',
        {
          query: { limit: request.query.limit, after: request.query.after },
          headers: identityHeaders(request),
        },
      );
      return { items: body.items };
    },
  );

  app.post(
    '/api/v1/orders',
    {
      schema: {
        body: PlaceOrderBody,
        response: { 202: Type.Object({ id: Type.String(), status: Type.Literal('pending') }) },
      },
      preValidation: async (request) => {
        const raw = request.headers['idempotency-key'];
        if (raw === undefined)
          throw new SluiceError({
            code: 'invalid_argument',
            reason: HttpReasons.IDEMPOTENCY_KEY_MISSING,
            message: 'POST /api/v1/orders needs an Idempotency-Key header (one per logical order)',
            details: { violations: [{ field: 'headers.idempotency-key', message: 'is required' }] },
          });
        parseIdempotencyKey(raw);
      },
    },
    async (request, reply) => {
      const key = parseIdempotencyKey(request.headers['idempotency-key'] as string);
      const res = await services.order.post<{ id: string; status: 'pending' }>(
        '/api/v1/orders',
        request.body,
        {
          idempotencyKey: key,
          headers: identityHeaders(request),
        },
      );
      const replayed = res.headers['idempotent-replayed'];
      if (typeof replayed === 'string') reply.header('idempotent-replayed', replayed);
      return reply
        .code(202)
        .header('location', `/api/v1/orders/${encodeURIComponent(res.body.id)}`)
        .send({ id: res.body.id, status: res.body.status });
    },
  );

  app.get(
    '/api/v1/orders/:id',
    { schema: { params: Type.Object({ id: Id }), response: { 200: PublicOrder } } },
    async (request) => {
      const { body } = await services.order.get<Order>(
        `/api/v1/orders/${encodeURIComponent(request.params.id)}`,
        {
          headers: identityHeaders(request),
        },
      );
      return publicOrder(body);
    },
  );

  app.get(
    '/api/v1/orders',
    {
      schema: {
        querystring: Type.Object(
          { customerId: Id, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(PublicOrder) }) },
      },
    },
    async (request) => {
      const { body } = await services.order.get<{ items: Order[] }>('/api/v1/orders', {
        query: { customerId: request.query.customerId, limit: request.query.limit },
        headers: identityHeaders(request),
      });
      return { items: body.items.map(publicOrder) };
    },
  );
}
