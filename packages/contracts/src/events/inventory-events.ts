import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define-event.js';
import { IdSchema, QuantitySchema, ShortTextSchema, TimestampSchema } from '../ids.js';

/** A product and a number of its units. */
export const StockLineSchema = Type.Object({ productId: IdSchema, quantity: QuantitySchema });

/** Stock for an order is held until `expiresAt`. */
export const InventoryReserved = defineEvent({
  type: 'inventory.reserved',
  description: 'stock for an order is held until it expires',
  schema: Type.Object({
    orderId: IdSchema,
    reservationId: IdSchema,
    items: Type.Array(StockLineSchema, { minItems: 1, maxItems: 100 }),
    expiresAt: TimestampSchema,
  }),
});

/** Stock for an order could not be held (unknown product, not enough units). */
export const InventoryReservationFailed = defineEvent({
  type: 'inventory.reservation_failed',
  description: 'stock for an order could not be held',
  schema: Type.Object({
    orderId: IdSchema,
    reason: Type.String({ minLength: 1, maxLength: 128 }),
    message: Type.Optional(ShortTextSchema),
    productId: Type.Optional(IdSchema),
  }),
});

/** Held stock was given back: the order was cancelled, or the reservation expired. */
export const InventoryReleased = defineEvent({
  type: 'inventory.released',
  description: 'held stock was given back (cancelled or expired)',
  schema: Type.Object({
    reservationId: IdSchema,
    orderId: Type.Optional(IdSchema),
    cause: Type.Union([Type.Literal('released'), Type.Literal('expired')]),
    items: Type.Array(StockLineSchema, { maxItems: 100 }),
  }),
});
