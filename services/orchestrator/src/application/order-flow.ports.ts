/**
 * What the order saga needs from the other services. Adapters in
 * `infrastructure/` call them over gRPC (inventory, payment), REST (order) and
 * the `email.send` work queue (notification), each through its own resilient
 * client. Every call carries the step's idempotency key, so a step re-run
 * after a crash or a retry has no second effect.
 */

/** Integer minor units and a currency. */
export interface Amount {
  readonly amount: number;
  readonly currency: string;
}

/** Holds and gives back stock. */
export interface InventoryPort {
  reserve(
    request: {
      orderId: string;
      items: readonly { productId: string; quantity: number }[];
      idempotencyKey: string;
    },
    signal: AbortSignal,
  ): Promise<{ reservationId: string; expiresAt: string }>;
  /** Idempotent: releasing a released or expired reservation succeeds. */
  release(reservationId: string, signal: AbortSignal): Promise<void>;
}

/** Charges and refunds. */
export interface PaymentPort {
  charge(
    request: {
      orderId: string;
      customerId: string;
      amount: Amount;
      cardToken: string;
      idempotencyKey: string;
    },
    signal: AbortSignal,
  ): Promise<{ paymentId: string }>;
  /** Idempotent per key. */
  refund(paymentId: string, idempotencyKey: string, signal: AbortSignal): Promise<void>;
}

/** Ends an order's flow in the order service. Both idempotent. */
export interface OrderPort {
  confirm(
    orderId: string,
    refs: { reservationId: string; paymentId: string },
    signal: AbortSignal,
  ): Promise<void>;
  cancel(orderId: string, reason: string, message: string, signal: AbortSignal): Promise<void>;
}

/** One email command for the notification service's `email.send` work queue. */
export interface EmailCommand {
  /** Deduplication id: the notification service sends each message id once. */
  readonly messageId: string;
  readonly to: string;
  readonly subject: string;
  readonly templateId: 'order-confirmed' | 'order-cancelled';
  readonly templateData: Readonly<Record<string, string>>;
  readonly priority: 'high' | 'normal' | 'low';
}

/** Queues emails (durably: once this resolves the command will be delivered). */
export interface NotificationPort {
  send(command: EmailCommand, signal: AbortSignal): Promise<void>;
}
