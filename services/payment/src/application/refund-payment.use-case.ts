import { createEnvelope, type EventEnvelope } from '@sluice/contracts';
import { type Payment, refund } from '../domain/payment.js';
import { PaymentNotFoundError } from '../domain/payment-errors.js';
import type { PaymentStore } from './payment.store.js';
import { money } from './process-payment.use-case.js';

/** Dependencies of {@link RefundPayment}. */
export interface RefundPaymentDeps {
  readonly store: PaymentStore;
  readonly now: () => Date;
  readonly newId: () => string;
  readonly source: string;
}

/**
 * Refunds a captured payment in full, once: a repeat returns the refunded
 * payment. Emits `payment.refunded` through the outbox.
 */
export class RefundPayment {
  constructor(private readonly deps: RefundPaymentDeps) {}

  async execute(
    paymentId: string,
    idempotencyKey: string,
    options: { causedBy?: Pick<EventEnvelope, 'id' | 'correlationid'> } = {},
  ): Promise<Payment> {
    const { store, now, newId, source } = this.deps;
    // A concurrent refund can win the race: read again and settle on what it did.
    for (let attempt = 0; attempt < 3; attempt++) {
      const payment = await store.get(paymentId);
      if (!payment) throw new PaymentNotFoundError(paymentId);
      const at = now();
      const refunded = refund(payment, newId(), idempotencyKey, at);
      if (refunded === payment) return payment;
      const event = createEnvelope({
        type: 'payment.refunded',
        source,
        subject: payment.orderId,
        time: at,
        ...(options.causedBy ? { causedBy: options.causedBy } : { correlationId: payment.orderId }),
        data: {
          orderId: payment.orderId,
          paymentId: payment.id,
          refundId: refunded.refund?.id ?? '',
          amount: money(payment),
        },
      });
      if (await store.update(refunded, payment.status, [event])) return refunded;
    }
    throw new Error(`refund of ${paymentId} kept losing races`);
  }
}
