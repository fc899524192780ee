import { SluiceError } from '@sluice/errors';
import {
  InvalidOrderError,
  InvalidTransitionError,
  OrderNotFoundError,
  UnknownProductError,
} from '../domain/order-errors.js';
import { OrderReasons } from './reasons.js';

/** Maps the order domain's errors to transport errors; anything else passes through. */
export function toApiError(err: unknown, items?: readonly { productId: string }[]): unknown {
  if (err instanceof InvalidOrderError)
    return new SluiceError({
      code: 'invalid_argument',
      reason: OrderReasons.INVALID,
      message: err.message,
      details: { violations: [{ field: `body.${err.field}`, message: err.message }] },
      cause: err,
    });
  if (err instanceof UnknownProductError)
    return new SluiceError({
      code: 'failed_precondition',
      reason: OrderReasons.UNKNOWN_PRODUCT,
      message: err.message,
      details: {
        violations: (items ?? [])
          .map((item, i) => ({ item, i }))
          .filter(({ item }) => err.productIds.includes(item.productId))
          .map(({ item, i }) => ({
            field: `body.items.${i}.productId`,
            message: `unknown product ${item.productId}`,
          })),
      },
      cause: err,
    });
  if (err instanceof OrderNotFoundError)
    return new SluiceError({
      code: 'not_found',
      reason: OrderReasons.NOT_FOUND,
      message: err.message,
      cause: err,
    });
  if (err instanceof InvalidTransitionError)
    return new SluiceError({
      code: 'failed_precondition',
      reason: OrderReasons.INVALID_TRANSITION,
      message: err.message,
      cause: err,
    });
  return err;
}
