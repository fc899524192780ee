import { create, toBinary } from '@bufbuild/protobuf';
import { isSluiceError, type SluiceError } from '@sluice/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CheckAvailabilityRequestSchema,
  ReserveStockRequestSchema,
} from './gen/sluice/inventory/v1/inventory_pb.js';
import { ProcessPaymentRequestSchema } from './gen/sluice/payment/v1/payment_pb.js';
import { assertValidRequest, decodeMessage, requestViolations } from './proto-validation.js';

describe('decodeMessage', () => {
  it('round-trips a valid message', () => {
    const req = create(ReserveStockRequestSchema, {
      orderId: 'o-1',
      items: [{ productId: 'sku-1', quantity: 2 }],
      idempotencyKey: 'o-1:reserve',
    });
    const back = decodeMessage(ReserveStockRequestSchema, toBinary(ReserveStockRequestSchema, req));
    expect(back.items[0]?.quantity).toBe(2);
    expect(requestViolations(back)).toEqual([]);
  });

  it('turns any malformed bytes into an invalid_argument SluiceError, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeMessage(ReserveStockRequestSchema, bytes);
        } catch (err) {
          expect(isSluiceError(err)).toBe(true);
          expect((err as SluiceError).code).toBe('invalid_argument');
          expect((err as SluiceError).reason).toBe('CONTRACTS_INVALID_PROTOBUF');
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects a truncated message', () => {
    const bytes = toBinary(
      CheckAvailabilityRequestSchema,
      create(CheckAvailabilityRequestSchema, { productId: 'sku-123', quantity: 1 }),
    );
    expect(() => decodeMessage(CheckAvailabilityRequestSchema, bytes.subarray(0, 4))).toThrow(/malformed/);
  });
});

describe('assertValidRequest', () => {
  it('lists every violated field of a request', () => {
    const req = create(ReserveStockRequestSchema, {
      orderId: '',
      items: [
        { productId: 'sku 1', quantity: 0 },
        { productId: 'ok', quantity: -3 },
      ],
      expiresInSeconds: -1,
    });
    try {
      assertValidRequest(req);
      expect.unreachable();
    } catch (err) {
      const e = err as SluiceError;
      expect(e.code).toBe('invalid_argument');
      expect(e.reason).toBe('CONTRACTS_INVALID_MESSAGE');
      expect(e.violations.map((v) => v.field).sort()).toEqual(
        [
          'expires_in_seconds',
          'idempotency_key',
          'items.0.product_id',
          'items.0.quantity',
          'items.1.quantity',
          'order_id',
        ].sort(),
      );
    }
  });

  it('rejects payments with no amount, a zero amount or an unknown currency', () => {
    const base = { orderId: 'o-1', customerId: 'c-1', cardToken: 'tok_ok', idempotencyKey: 'k' };
    expect(requestViolations(create(ProcessPaymentRequestSchema, base)).map((v) => v.field)).toEqual([
      'amount',
    ]);
    const zero = create(ProcessPaymentRequestSchema, { ...base, amount: { amount: 0n, currency: 'USD' } });
    expect(requestViolations(zero).map((v) => v.field)).toEqual(['amount.amount']);
    const xxx = create(ProcessPaymentRequestSchema, { ...base, amount: { amount: 100n, currency: 'XXX' } });
    expect(requestViolations(xxx).map((v) => v.field)).toEqual(['amount.currency']);
    const ok = create(ProcessPaymentRequestSchema, { ...base, amount: { amount: 100n, currency: 'EUR' } });
    expect(assertValidRequest(ok)).toBe(ok);
  });

  it('accepts every well-formed availability request and rejects every quantity outside 1..10000', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9._:@-]{1,128}$/),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        (productId, quantity) => {
          const v = requestViolations(create(CheckAvailabilityRequestSchema, { productId, quantity }));
          expect(v.length === 0).toBe(quantity >= 1 && quantity <= 10_000);
        },
      ),
    );
  });
});
