import { IdempotencyMismatchError, InvalidAmountError, PaymentStateError } from './payment-errors.js';

/** An amount of money in integer minor units (cents). */
export interface Amount {
  readonly amount: number;
  readonly currency: string;
}

/** Where a payment stands: a charge is captured or declined; a captured one may be refunded. */
export type PaymentStatus = 'captured' | 'declined' | 'refunded';

/** One charge attempt for an order, kept whether it was captured or declined. */
export interface Payment {
  readonly id: string;
  readonly orderId: string;
  readonly customerId: string;
  readonly amount: Amount;
  /** The processor token of the card (never a card number). */
  readonly cardToken: string;
  readonly status: PaymentStatus;
  /** For a declined charge, the processor's code. */
  readonly declineCode?: string;
  readonly idempotencyKey: string;
  readonly processedAt: Date;
  readonly refund?: Refund;
}

/** The refund of a captured payment (always in full). */
export interface Refund {
  readonly id: string;
  readonly idempotencyKey: string;
  readonly refundedAt: Date;
}

/** What a charge asks for. */
export interface ChargeRequest {
  readonly orderId: string;
  readonly customerId: string;
  readonly amount: Amount;
  readonly cardToken: string;
  readonly idempotencyKey: string;
}

/** The processor's verdict on a charge. */
export type ProcessorVerdict =
  | { readonly approved: true }
  | { readonly approved: false; readonly declineCode: string };

/** Checks an amount: a positive safe integer of minor units. */
export function assertAmount(amount: Amount): void {
  if (!Number.isSafeInteger(amount.amount) || amount.amount <= 0) {
    throw new InvalidAmountError(`amount must be a positive integer of minor units, got ${amount.amount}`);
  }
}

/**
 * Records a charge from the processor's verdict. A declined charge is kept
 * too, so a retry with the same key gets the same answer without asking the
 * processor again.
 */
export function recordCharge(
  id: string,
  request: ChargeRequest,
  verdict: ProcessorVerdict,
  at: Date,
): Payment {
  assertAmount(request.amount);
  return {
    id,
    orderId: request.orderId,
    customerId: request.customerId,
    amount: { ...request.amount },
    cardToken: request.cardToken,
    status: verdict.approved ? 'captured' : 'declined',
    ...(verdict.approved ? {} : { declineCode: verdict.declineCode }),
    idempotencyKey: request.idempotencyKey,
    processedAt: at,
  };
}

/** Whether a repeated request with the same key asks for the same charge; throws if not. */
export function assertSameCharge(existing: Payment, request: ChargeRequest): void {
  if (
    existing.orderId !== request.orderId ||
    existing.amount.amount !== request.amount.amount ||
    existing.amount.currency !== request.amount.currency ||
    existing.cardToken !== request.cardToken
  ) {
    throw new IdempotencyMismatchError(request.idempotencyKey);
  }
}

/**
 * Refunds a captured payment in full. Refunding an already refunded payment
 * returns it unchanged (idempotent); a declined charge cannot be refunded.
 */
export function refund(payment: Payment, refundId: string, idempotencyKey: string, at: Date): Payment {
  if (payment.status === 'refunded') return payment;
  if (payment.status !== 'captured') throw new PaymentStateError(payment.id, payment.status, 'refund');
  return { ...payment, status: 'refunded', refund: { id: refundId, idempotencyKey, refundedAt: at } };
}
