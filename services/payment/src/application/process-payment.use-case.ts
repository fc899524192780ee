import { createEnvelope, type EventEnvelope } from '@sluice/contracts';
import {
  assertAmount,
  assertSameCharge,
  type ChargeRequest,
  type Payment,
  recordCharge,
} from '../domain/payment.js';
import { PaymentDeclinedError } from '../domain/payment-errors.js';
import type { CardProcessor, PaymentStore } from './payment.store.js';

/** Dependencies of {@link ProcessPayment}. */
export interface ProcessPaymentDeps {
  readonly store: PaymentStore;
  readonly processor: CardProcessor;
  readonly now: () => Date;
  readonly newId: () => string;
  readonly source: string;
}

/**
 * Charges a card once per idempotency key. A repeat of a captured charge
 * returns it; a repeat of a declined one is declined again without asking the
 * processor; the same key for a different charge is refused. Emits
 * `payment.processed` or `payment.failed` through the outbox.
 *
 * @throws PaymentDeclinedError when the processor declines (now or the first time)
 */
export class ProcessPayment {
  constructor(private readonly deps: ProcessPaymentDeps) {}

  async execute(
    request: ChargeRequest,
    options: { signal?: AbortSignal; causedBy?: Pick<EventEnvelope, 'id' | 'correlationid'> } = {},
  ): Promise<Payment> {
    const { store, processor, now, newId, source } = this.deps;
    assertAmount(request.amount);
    const existing = await store.findByKey(request.idempotencyKey);
    if (existing) return settled(existing, request);
    const verdict = await processor.charge(
      { cardToken: request.cardToken, amount: request.amount, idempotencyKey: request.idempotencyKey },
      options.signal,
    );
    const at = now();
    const payment = recordCharge(newId(), request, verdict, at);
    const chain = options.causedBy ? { causedBy: options.causedBy } : { correlationId: request.orderId };
    const event =
      payment.status === 'captured'
        ? createEnvelope({
            type: 'payment.processed',
            source,
            subject: request.orderId,
            time: at,
            ...chain,
            data: {
              orderId: payment.orderId,
              customerId: payment.customerId,
              paymentId: payment.id,
              amount: money(payment),
            },
          })
        : createEnvelope({
            type: 'payment.failed',
            source,
            subject: request.orderId,
            time: at,
            ...chain,
            data: {
              orderId: payment.orderId,
              customerId: payment.customerId,
              amount: money(payment),
              reason: 'PAYMENT_DECLINED',
              message: payment.declineCode ?? 'declined',
            },
          });
    const stored = await store.insert(payment, [event]);
    return settled(stored, request);
  }
}

function settled(payment: Payment, request: ChargeRequest): Payment {
  assertSameCharge(payment, request);
  if (payment.status === 'declined')
    throw new PaymentDeclinedError(payment.id, payment.declineCode ?? 'declined');
  return payment;
}

/** The payment's amount in the events' Money shape. */
export function money(payment: Payment) {
  return { amount: payment.amount.amount, currency: payment.amount.currency as 'USD' };
}
