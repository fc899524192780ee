import { Type } from '@fastify/type-provider-typebox';
import type { HttpServer } from '@sluice/http';
import type { FaultInjector } from '@sluice/service';
import { checkAvailability } from '../application/check-availability.use-case.js';
import type { InventoryStore } from '../application/inventory.store.js';
import type { ReserveStock } from '../application/reserve-stock.use-case.js';
import type { SettleReservation } from '../application/settle-reservation.use-case.js';
import { MAX_LINE_QUANTITY, MAX_LINES } from '../domain/reservation.js';
import { toApiError } from './inventory-errors.mapping.js';

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@-]+$' });

/** Dependencies of the inventory REST routes. */
export interface InventoryRoutesDeps {
  readonly store: InventoryStore;
  readonly reserveStock: ReserveStock;
  readonly settle: SettleReservation;
  readonly faults: FaultInjector;
}

/** The inventory's REST API (SPEC.md §2 inventory). */
export function inventoryRoutes(app: HttpServer, deps: InventoryRoutesDeps): void {
  const guarded = async <T>(
    call: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
  ): Promise<T> => {
    const f = deps.faults.inject(`inventory.${call}`, signal);
    if (f) await f;
    try {
      return await fn();
    } catch (err) {
      throw toApiError(err);
    }
  };

  app.get(
    '/api/v1/inventory/:productId/availability',
    {
      schema: {
        params: Type.Object({ productId: Id }),
        querystring: Type.Object(
          { quantity: Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            productId: Type.String(),
            available: Type.Boolean(),
            currentStock: Type.Integer(),
          }),
        },
      },
    },
    (request) =>
      guarded('CheckAvailability', undefined, () =>
        checkAvailability(deps.store, request.params.productId, request.query.quantity),
      ),
  );

  app.post(
    '/api/v1/inventory/reservations',
    {
      config: { idempotency: true },
      schema: {
        body: Type.Object(
          {
            orderId: Id,
            items: Type.Array(
              Type.Object(
                { productId: Id, quantity: Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY }) },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: MAX_LINES },
            ),
            expiresInSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ reservationId: Type.String(), expiresAt: Type.String() }) },
      },
    },
    async (request, reply) => {
      const key = String(request.headers['idempotency-key'] ?? '');
      const r = await guarded('ReserveStock', undefined, () =>
        deps.reserveStock.execute({
          orderId: request.body.orderId,
          items: request.body.items,
          idempotencyKey: `${request.caller ?? 'rest'}:${key}`,
          ...(request.body.expiresInSeconds ? { expiresInSeconds: request.body.expiresInSeconds } : {}),
        }),
      );
      return reply.code(201).send({ reservationId: r.id, expiresAt: r.expiresAt.toISOString() });
    },
  );

  app.delete(
    '/api/v1/inventory/reservations/:id',
    { schema: { params: Type.Object({ id: Id }) } },
    async (request, reply) => {
      await guarded('ReleaseReservation', undefined, () => deps.settle.release(request.params.id));
      return reply.code(204).send();
    },
  );

  // Stock levels of every product: the dashboard and the end-to-end invariant checks read it.
  app.get(
    '/api/v1/inventory',
    {
      schema: {
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                productId: Type.String(),
                available: Type.Integer(),
                reserved: Type.Integer(),
                sold: Type.Integer(),
              }),
            ),
          }),
        },
      },
    },
    async () => ({ items: await deps.store.listStock() }),
  );
}
