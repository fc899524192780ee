import { type Static, Type } from '@fastify/type-provider-typebox';
import type { HttpServer } from '@sluice/http';
import { graphqlRoute } from '@sluice/service';
import type { ChangeOrderStatus } from '../application/change-order-status.use-case.js';
import type { OrderStore } from '../application/order.store.js';
import type { PlaceOrder } from '../application/place-order.use-case.js';
import { MAX_LINES, MAX_QUANTITY, type Order } from '../domain/order.js';
import { OrderNotFoundError } from '../domain/order-errors.js';
import { orderContext, orderSubgraph } from './order.subgraph.js';
import { toApiError } from './order-errors.mapping.js';

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@-]+$' });
const Money = Type.Object({ amount: Type.Integer(), currency: Type.String() });

/** The body of `POST /api/v1/orders` (SPEC.md "The public edge"). */
export const PlaceOrderBody = Type.Object(
  {
    customerId: Id,
    items: Type.Array(
      Type.Object(
        { productId: Id, quantity: Type.Integer({ minimum: 1, maximum: MAX_QUANTITY }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_LINES },
    ),
    payment: Type.Object(
      { cardToken: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_]+$' }) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** An order as the REST API shows it. */
export const OrderView = Type.Object({
  id: Type.String(),
  customerId: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('cancelled')]),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  items: Type.Array(Type.Object({ productId: Type.String(), quantity: Type.Integer(), unitPrice: Money })),
  total: Money,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  history: Type.Array(
    Type.Object({ status: Type.String(), at: Type.String(), reason: Type.Optional(Type.String()) }),
  ),
});

/** An order in its REST shape. */
export function orderView(o: Order): Static<typeof OrderView> {
  return {
    id: o.id,
    customerId: o.customerId,
    status: o.status,
    ...(o.reason ? { reason: o.reason } : {}),
    ...(o.message ? { message: o.message } : {}),
    items: o.items.map((l) => ({
      productId: l.productId,
      quantity: l.quantity,
      unitPrice: { ...l.unitPrice },
    })),
    total: { ...o.total },
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
    history: o.history.map((h) => ({
      status: h.status,
      at: h.at.toISOString(),
      ...(h.reason ? { reason: h.reason } : {}),
    })),
  };
}

/** Dependencies of the order routes. */
export interface OrderRoutesDeps {
  readonly store: OrderStore;
  readonly placeOrder: PlaceOrder;
  readonly status: ChangeOrderStatus;
}

/**
 * The order service's REST routes, the internal routes the orchestrator calls
 * to end an order's flow, and the Order subgraph at `/graphql`.
 */
export function orderRoutes(app: HttpServer, deps: OrderRoutesDeps): void {
  app.post(
    '/api/v1/orders',
    {
      schema: {
        body: PlaceOrderBody,
        response: { 202: Type.Object({ id: Type.String(), status: Type.String() }) },
      },
      config: { idempotency: true },
    },
    async (request, reply) => {
      const key = String(request.headers['idempotency-key'] ?? '');
      try {
        const { order } = await deps.placeOrder.execute({
          ...request.body,
          idempotencyKey: `${request.caller ?? 'public'}:${key}`,
          ...(typeof request.headers['x-user-id'] === 'string'
            ? { userId: request.headers['x-user-id'] }
            : {}),
        });
        return reply
          .code(202)
          .header('location', `/api/v1/orders/${order.id}`)
          .send({ id: order.id, status: order.status });
      } catch (err) {
        throw toApiError(err, request.body.items);
      }
    },
  );

  app.get(
    '/api/v1/orders/:id',
    { schema: { params: Type.Object({ id: Id }), response: { 200: OrderView } } },
    async (request) => {
      const order = await deps.store.get(request.params.id);
      if (!order) throw toApiError(new OrderNotFoundError(request.params.id));
      return orderView(order);
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
        response: { 200: Type.Object({ items: Type.Array(OrderView) }) },
      },
    },
    async (request) => ({
      items: (await deps.store.listByCustomer(request.query.customerId, request.query.limit ?? 20)).map(
        orderView,
      ),
    }),
  );

  // Internal: the orchestrator ends an order's flow. Both are idempotent.
  app.post(
    '/internal/orders/:id/confirm',
    {
      schema: {
        params: Type.Object({ id: Id }),
        body: Type.Object({ reservationId: Id, paymentId: Id }, { additionalProperties: false }),
        response: { 200: OrderView },
      },
    },
    async (request) => {
      try {
        return orderView(await deps.status.confirm(request.params.id, request.body));
      } catch (err) {
        throw toApiError(err);
      }
    },
  );
  app.post(
    '/internal/orders/:id/cancel',
    {
      schema: {
        params: Type.Object({ id: Id }),
        body: Type.Object(
          {
            reason: Type.String({ minLength: 1, maxLength: 128 }),
            message: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: OrderView },
      },
    },
    async (request) => {
      try {
        return orderView(
          await deps.status.cancel(request.params.id, request.body.reason, request.body.message),
        );
      } catch (err) {
        throw toApiError(err);
      }
    },
  );

  graphqlRoute(app, {
    schema: orderSubgraph({ store: deps.store, placeOrder: deps.placeOrder }),
    context: ({ headers }) =>
      orderContext(
        deps.store,
        typeof headers['x-user-id'] === 'string' ? { userId: headers['x-user-id'] } : {},
      ),
  });
}
