import type { EventEnvelope } from '@sluice/contracts';
import type { Payment } from '../domain/payment.js';

/** The payment service's persistence port. Every write commits its events (outbox) in the same transaction. */
export interface PaymentStore {
  get(id: string): Promise<Payment | undefined>;
  findByKey(idempotencyKey: string): Promise<Payment | undefined>;
  /** Payments of an order, oldest first. */
  listByOrder(orderId: string): Promise<Payment[]>;
  /**
   * Inserts a new payment with its events. If a payment with the same
   * idempotency key exists already (a concurrent duplicate), nothing is
   * written and that one is returned.
   */
  insert(payment: Payment, events: readonly EventEnvelope[]): Promise<Payment>;
  /**
   * Replaces a payment whose status is still `expectedStatus`, with its
   * events; returns false (and writes nothing) if it changed meanwhile.
   */
  update(
    payment: Payment,
    expectedStatus: Payment['status'],
    events: readonly EventEnvelope[],
  ): Promise<boolean>;
}

/** The card processor port: charges a card by token. */
export interface CardProcessor {
  /**
   * Asks the processor to charge; resolves with its verdict. Rejects (with a
   * retryable error) when the processor cannot be reached; the idempotency
   * key lets the processor deduplicate a retried charge.
   */
  charge(
    request: { cardToken: string; amount: { amount: number; currency: string }; idempotencyKey: string },
    signal?: AbortSignal,
  ): Promise<import('../domain/payment.js').ProcessorVerdict>;
}
