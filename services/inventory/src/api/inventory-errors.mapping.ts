import { SluiceError } from '@sluice/errors';
import {
  InsufficientStockError,
  InvalidReservationError,
  ReservationNotFoundError,
  ReservationStateError,
  UnknownProductError,
} from '../domain/inventory-errors.js';
import { InventoryReasons } from './reasons.js';

/** Maps the inventory domain's errors to transport errors (gRPC and REST alike); others pass through. */
export function toApiError(err: unknown): unknown {
  if (err instanceof UnknownProductError)
    return new SluiceError({
      code: 'not_found',
      reason: InventoryReasons.UNKNOWN_PRODUCT,
      message: err.message,
      details: { metadata: { productId: err.productId } },
      cause: err,
    });
  if (err instanceof InsufficientStockError)
    return new SluiceError({
      code: 'failed_precondition',
      reason: InventoryReasons.INSUFFICIENT_STOCK,
      message: err.message,
      details: {
        metadata: {
          productId: err.productId,
          requested: String(err.requested),
          available: String(err.available),
        },
      },
      cause: err,
    });
  if (err instanceof InvalidReservationError)
    return new SluiceError({
      code: 'invalid_argument',
      reason: InventoryReasons.INVALID_RESERVATION,
      message: err.message,
      cause: err,
    });
  if (err instanceof ReservationNotFoundError)
    return new SluiceError({
      code: 'not_found',
      reason: InventoryReasons.RESERVATION_NOT_FOUND,
      message: err.message,
      cause: err,
    });
  if (err instanceof ReservationStateError)
    return new SluiceError({
      code: 'failed_precondition',
      reason: InventoryReasons.RESERVATION_STATE,
      message: err.message,
      cause: err,
    });
  return err;
}
