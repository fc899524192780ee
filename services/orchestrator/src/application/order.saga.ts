import { defineSaga, sagaSteps } from '@sluice/saga';
import type { Amount, InventoryPort, NotificationPort, OrderPort, PaymentPort } from './order-flow.ports.js';

/** The saga's input: the `order.placed` event's data. */
export interface OrderSagaInput {
  readonly orderId: string;
  readonly customerId: string;
  readonly items: readonly {
    readonly productId: string;
    readonly quantity: number;
    readonly unitPrice: Amount;
  }[];
  readonly total: Amount;
  readonly payment: { readonly cardToken: string };
}

/** The services the saga drives. */
export interface OrderSagaDeps {
  readonly inventory: InventoryPort;
  readonly payment: PaymentPort;
  readonly orders: OrderPort;
  readonly notifications: NotificationPort;
  /** The address a customer's mail goes to. Default `<customerId>@customers.example`. */
  readonly emailOf?: (customerId: string) => string;
}

/** The saga id of an order: starting it twice starts one saga. */
export const orderSagaId = (orderId: string) => `order-${orderId}`;

const money = (a: Amount) => `${(a.amount / 100).toFixed(2)} ${a.currency}`;

/**
 * The order saga: reserve stock → charge payment → send the confirmation
 * (non-critical: a mail problem never fails an order) → confirm the order. When
 * a critical step fails, completed steps are undone newest first: refund the
 * charge, release the stock, then (the first step's compensation) cancel the
 * order with the failing step's reason and mail the customer.
 */
export function defineOrderSaga(deps: OrderSagaDeps) {
  const emailOf = deps.emailOf ?? ((c: string) => `${c}@customers.example`);
  return defineSaga({
    name: 'order',
    steps: sagaSteps<OrderSagaInput>()
      // Nothing to do going forward; its compensation runs last and closes the order as cancelled.
      .step('open', {
        execute: () => ({}),
        compensate: async ({ input, reason, signal, compensationKey }) => {
          await deps.orders.cancel(input.orderId, reason.reason, reason.message, signal);
          await deps.notifications.send(
            {
              messageId: compensationKey,
              to: emailOf(input.customerId),
              subject: `Your order ${input.orderId} was cancelled`,
              templateId: 'order-cancelled',
              templateData: { customerId: input.customerId, orderId: input.orderId, reason: reason.reason },
              priority: 'high',
            },
            signal,
          );
        },
      })
      .step('reserve', {
        timeoutMs: 5_000,
        execute: ({ input, idempotencyKey, signal }) =>
          deps.inventory.reserve(
            {
              orderId: input.orderId,
              items: input.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
              idempotencyKey,
            },
            signal,
          ),
        compensate: ({ output, signal }) => deps.inventory.release(output.reservationId, signal),
      })
      .step('charge', {
        timeoutMs: 10_000,
        execute: ({ input, idempotencyKey, signal }) =>
          deps.payment.charge(
            {
              orderId: input.orderId,
              customerId: input.customerId,
              amount: input.total,
              cardToken: input.payment.cardToken,
              idempotencyKey,
            },
            signal,
          ),
        compensate: ({ output, compensationKey, signal }) =>
          deps.payment.refund(output.paymentId, compensationKey, signal),
      })
      .step('notify', {
        critical: false,
        retry: { maxAttempts: 2 },
        execute: async ({ input, idempotencyKey, signal }) => {
          await deps.notifications.send(
            {
              messageId: idempotencyKey,
              to: emailOf(input.customerId),
              subject: `Your order ${input.orderId} is confirmed`,
              templateId: 'order-confirmed',
              templateData: {
                customerId: input.customerId,
                orderId: input.orderId,
                total: money(input.total),
              },
              priority: 'normal',
            },
            signal,
          );
          return { queued: true };
        },
      })
      .step('confirm', {
        timeoutMs: 5_000,
        execute: async ({ input, results, signal }) => {
          await deps.orders.confirm(
            input.orderId,
            { reservationId: results.reserve.reservationId, paymentId: results.charge.paymentId },
            signal,
          );
          return { confirmed: true };
        },
      }),
  });
}
