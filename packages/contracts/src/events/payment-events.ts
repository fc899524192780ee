import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define-event.js';
import { IdSchema, ShortTextSchema } from '../ids.js';
import { MoneySchema } from '../money.js';

/** A payment was captured. */
export const PaymentProcessed = defineEvent({
  type: 'payment.processed',
  description: 'a payment for an order was captured',
  schema: Type.Object({ orderId: IdSchema, customerId: IdSchema, paymentId: IdSchema, amount: MoneySchema }),
});

/** A payment was declined or could not be taken. */
export const PaymentFailed = defineEvent({
  type: 'payment.failed',
  description: 'a payment for an order was declined or failed',
  schema: Type.Object({
    orderId: IdSchema,
    customerId: IdSchema,
    amount: MoneySchema,
    reason: Type.String({ minLength: 1, maxLength: 128 }),
    message: Type.Optional(ShortTextSchema),
  }),
});

/** A captured payment was refunded in full. */
export const PaymentRefunded = defineEvent({
  type: 'payment.refunded',
  description: 'a captured payment was refunded',
  schema: Type.Object({ orderId: IdSchema, paymentId: IdSchema, refundId: IdSchema, amount: MoneySchema }),
});
