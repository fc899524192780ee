/** Reasons the payment service answers with. Listed in docs/errors.md. */
export const PaymentReasons = {
  /** The card processor declined the charge; nothing was taken (`failed_precondition`, `metadata.declineCode`). */
  DECLINED: 'PAYMENT_DECLINED',
  /** No payment with this id (`not_found`). */
  NOT_FOUND: 'PAYMENT_NOT_FOUND',
  /** The payment cannot be refunded from its status (`failed_precondition`). */
  INVALID_STATE: 'PAYMENT_INVALID_STATE',
  /** The idempotency key was used for a different charge (`already_exists`). */
  IDEMPOTENCY_MISMATCH: 'PAYMENT_IDEMPOTENCY_MISMATCH',
  /** An amount that is not a positive integer of minor units (`invalid_argument`). */
  INVALID_AMOUNT: 'PAYMENT_INVALID_AMOUNT',
} as const;
