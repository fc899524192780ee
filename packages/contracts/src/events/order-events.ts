import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define-event.js';
import { IdSchema, QuantitySchema, ShortTextSchema } from '../ids.js';
import { MoneySchema } from '../money.js';

/** One line of an order, priced when the order was placed. */
export const OrderLineSchema = Type.Object({
  productId: IdSchema,
  quantity: QuantitySchema,
  unitPrice: MoneySchema,
});

/** An order was accepted (status `pending`); the order flow starts. */
export const OrderPlaced = defineEvent({
  type: 'order.placed',
  description: 'an order was accepted and is pending',
  schema: Type.Object({
    orderId: IdSchema,
    customerId: IdSchema,
    items: Type.Array(OrderLineSchema, { minItems: 1, maxItems: 100 }),
    total: MoneySchema,
    /** The card to charge (a processor token, never a card number). */
    payment: Type.Object({ cardToken: Type.String({ minLength: 1, maxLength: 128 }) }),
  }),
});

/** An order was confirmed: stock reserved and payment taken. */
export const OrderConfirmed = defineEvent({
  type: 'order.confirmed',
  description: 'an order is confirmed: stock held and payment taken',
  schema: Type.Object({
    orderId: IdSchema,
    customerId: IdSchema,
    total: MoneySchema,
    reservationId: Type.Optional(IdSchema),
    paymentId: Type.Optional(IdSchema),
  }),
});

/** An order was cancelled; `reason` is a stable reason such as `INVENTORY_INSUFFICIENT_STOCK`. */
export const OrderCancelled = defineEvent({
  type: 'order.cancelled',
  description: 'an order was cancelled, with the reason',
  schema: Type.Object({
    orderId: IdSchema,
    customerId: IdSchema,
    reason: Type.String({ minLength: 1, maxLength: 128 }),
    message: Type.Optional(ShortTextSchema),
  }),
});
