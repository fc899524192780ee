import { SluiceError } from '@sluice/errors';
import {
  IdempotencyMismatchError,
  InvalidAmountError,
  PaymentDeclinedError,
  PaymentNotFoundError,
  PaymentStateError,
} from '../domain/payment-errors.js';
import { PaymentReasons } from './reasons.js';

/** Maps the payment domain's errors to transport errors; others pass through. */
export function toApiError(err: unknown): unknown {
  if (err instanceof PaymentDeclinedError)
    return new SluiceError({
      code: 'failed_precondition',
      reason: PaymentReasons.DECLINED,
      message: err.message,
      details: { metadata: { paymentId: err.paymentId, declineCode: err.declineCode } },
      cause: err,
    });
  if (err instanceof PaymentNotFoundError)
    return new SluiceError({
      code: 'not_found',
      reason: PaymentReasons.NOT_FOUND,
      message: err.message,
      cause: err,
    });
  if (err instanceof PaymentStateError)
    return new SluiceError({
      code: 'failed_precondition',
      reason: PaymentReasons.INVALID_STATE,
      message: err.message,
      cause: err,
    });
  if (err instanceof IdempotencyMismatchError)
    return new SluiceError({
      code: 'already_exists',
      reason: PaymentReasons.IDEMPOTENCY_MISMATCH,
      message: err.message,
      cause: err,
    });
  if (err instanceof InvalidAmountError)
    return new SluiceError({
      code: 'invalid_argument',
      reason: PaymentReasons.INVALID_AMOUNT,
      message: err.message,
      details: { violations: [{ field: 'amount.amount', message: err.message }] },
      cause: err,
    });
  return err;
}
