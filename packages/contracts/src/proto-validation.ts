import { type DescMessage, fromBinary, type MessageShape } from '@bufbuild/protobuf';
import { type FieldViolation, SluiceError } from '@sluice/errors';
import type {
  BatchCheckAvailabilityRequest,
  CheckAvailabilityRequest,
  ReleaseReservationRequest,
  ReserveStockRequest,
  WatchInventoryRequest,
} from './gen/sluice/inventory/v1/inventory_pb.js';
import type { ProcessPaymentRequest, RefundPaymentRequest } from './gen/sluice/payment/v1/payment_pb.js';
import { CURRENCIES, MAX_MINOR_UNITS } from './money.js';
import { ContractsReasons } from './reasons.js';

/**
 * Decodes protobuf bytes as `schema`. Malformed bytes (truncated, wrong wire
 * types, invalid UTF-8 in a string) become a `SluiceError`
 * (`invalid_argument`, `CONTRACTS_INVALID_PROTOBUF`), never a crash.
 */
export function decodeMessage<D extends DescMessage>(schema: D, bytes: Uint8Array): MessageShape<D> {
  try {
    return fromBinary(schema, bytes, { readUnknownFields: false });
  } catch (cause) {
    throw new SluiceError({
      code: 'invalid_argument',
      reason: ContractsReasons.CONTRACTS_INVALID_PROTOBUF,
      message: `malformed ${schema.typeName}: ${cause instanceof Error ? cause.message : String(cause)}`,
      details: { violations: [{ field: '(message)', message: 'bytes do not decode as ' + schema.typeName }] },
      cause,
    });
  }
}

const ID_RE = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Collects the violations of one message. */
class Violations {
  readonly list: FieldViolation[] = [];
  id(field: string, value: string): void {
    if (!ID_RE.test(value))
      this.list.push({ field, message: 'must be 1–128 characters of [A-Za-z0-9._:@-]' });
  }
  quantity(field: string, value: number): void {
    if (!Number.isInteger(value) || value < 1 || value > 10_000)
      this.list.push({ field, message: 'must be an integer from 1 to 10000' });
  }
  key(field: string, value: string): void {
    if (value.length < 1 || value.length > 255)
      this.list.push({ field, message: 'must be 1–255 characters' });
  }
}

/** Field rules of each request message the shop's services accept, by protobuf type name. */
const rules: Record<string, (m: never, v: Violations) => void> = {
  'sluice.inventory.v1.CheckAvailabilityRequest': (m: CheckAvailabilityRequest, v) => {
    v.id('product_id', m.productId);
    v.quantity('quantity', m.quantity);
  },
  'sluice.inventory.v1.BatchCheckAvailabilityRequest': (m: BatchCheckAvailabilityRequest, v) => {
    v.id('product_id', m.productId);
    v.quantity('quantity', m.quantity);
  },
  'sluice.inventory.v1.ReserveStockRequest': (m: ReserveStockRequest, v) => {
    v.id('order_id', m.orderId);
    if (m.items.length < 1 || m.items.length > 100)
      v.list.push({ field: 'items', message: 'must hold 1–100 items' });
    m.items.slice(0, 100).forEach((item, i) => {
      v.id(`items.${i}.product_id`, item.productId);
      v.quantity(`items.${i}.quantity`, item.quantity);
    });
    if (m.expiresInSeconds < 0 || m.expiresInSeconds > 86_400) {
      v.list.push({ field: 'expires_in_seconds', message: 'must be from 0 (the default) to 86400' });
    }
    v.key('idempotency_key', m.idempotencyKey);
  },
  'sluice.inventory.v1.ReleaseReservationRequest': (m: ReleaseReservationRequest, v) => {
    v.id('reservation_id', m.reservationId);
  },
  'sluice.inventory.v1.WatchInventoryRequest': (m: WatchInventoryRequest, v) => {
    if (m.productIds.length > 1000) v.list.push({ field: 'product_ids', message: 'at most 1000 products' });
    for (const [i, id] of m.productIds.slice(0, 1000).entries()) v.id(`product_ids.${i}`, id);
  },
  'sluice.payment.v1.ProcessPaymentRequest': (m: ProcessPaymentRequest, v) => {
    v.id('order_id', m.orderId);
    v.id('customer_id', m.customerId);
    if (!m.amount) v.list.push({ field: 'amount', message: 'is required' });
    else {
      if (m.amount.amount <= 0n || m.amount.amount > BigInt(MAX_MINOR_UNITS)) {
        v.list.push({ field: 'amount.amount', message: `must be minor units from 1 to ${MAX_MINOR_UNITS}` });
      }
      if (!(CURRENCIES as readonly string[]).includes(m.amount.currency)) {
        v.list.push({ field: 'amount.currency', message: `must be one of ${CURRENCIES.join(', ')}` });
      }
    }
    if (m.cardToken.length < 1 || m.cardToken.length > 128)
      v.list.push({ field: 'card_token', message: 'must be 1–128 characters' });
    v.key('idempotency_key', m.idempotencyKey);
  },
  'sluice.payment.v1.RefundPaymentRequest': (m: RefundPaymentRequest, v) => {
    v.id('payment_id', m.paymentId);
    v.key('idempotency_key', m.idempotencyKey);
  },
};

/**
 * Lists every field of a decoded request that breaks its rules (empty ids,
 * quantities below 1, unknown currencies…). A message type without rules has
 * none to break.
 */
export function requestViolations(message: { readonly $typeName: string }): readonly FieldViolation[] {
  const rule = rules[message.$typeName];
  if (!rule) return [];
  const v = new Violations();
  rule(message as never, v);
  return v.list;
}

/**
 * Throws a `SluiceError` (`invalid_argument`, `CONTRACTS_INVALID_MESSAGE`)
 * listing every violated field of a request, or returns it unchanged.
 */
export function assertValidRequest<M extends { readonly $typeName: string }>(message: M): M {
  const violations = requestViolations(message);
  if (violations.length === 0) return message;
  throw new SluiceError({
    code: 'invalid_argument',
    reason: ContractsReasons.CONTRACTS_INVALID_MESSAGE,
    message: `invalid ${message.$typeName}: ${violations.map((x) => `${x.field}: ${x.message}`).join('; ')}`,
    details: { violations },
  });
}
