/**
 * Business outcomes of the payment domain. Plain classes: `api/` maps each
 * `reason` to a transport code.
 */

/** Base of every payment domain error. */
export abstract class PaymentError extends Error {
  abstract readonly reason: string;
}

/** The card processor declined the charge; nothing was taken. */
export class PaymentDeclinedError extends PaymentError {
  readonly reason = 'PAYMENT_DECLINED';
  constructor(
    readonly paymentId: string,
    /** Why the processor declined: `card_declined`, `amount_over_limit`, `insufficient_funds`. */
    readonly declineCode: string,
  ) {
    super(`payment ${paymentId} declined: ${declineCode}`);
  }
}

/** No payment with this id. */
export class PaymentNotFoundError extends PaymentError {
  readonly reason = 'PAYMENT_NOT_FOUND';
  constructor(readonly paymentId: string) {
    super(`no payment ${paymentId}`);
  }
}

/** A payment cannot be refunded from its status (a declined charge took nothing). */
export class PaymentStateError extends PaymentError {
  readonly reason = 'PAYMENT_INVALID_STATE';
  constructor(
    readonly paymentId: string,
    readonly status: string,
    readonly action: string,
  ) {
    super(`payment ${paymentId} is ${status}: cannot ${action}`);
  }
}

/** The same idempotency key was used for a different charge (other order, amount or card). */
export class IdempotencyMismatchError extends PaymentError {
  readonly reason = 'PAYMENT_IDEMPOTENCY_MISMATCH';
  constructor(readonly idempotencyKey: string) {
    super(`idempotency key ${idempotencyKey} was already used for a different payment`);
  }
}

/** An amount that is not a positive integer of minor units. */
export class InvalidAmountError extends PaymentError {
  readonly reason = 'PAYMENT_INVALID_AMOUNT';
}
