import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { paymentV1 } from '@sluice/contracts';
import type { ServiceImpl } from '@sluice/grpc';
import type { FaultInjector } from '@sluice/service';
import type { ProcessPayment } from '../application/process-payment.use-case.js';
import type { RefundPayment } from '../application/refund-payment.use-case.js';
import { toApiError } from './payment-errors.mapping.js';

/** Dependencies of the gRPC PaymentService. */
export interface PaymentGrpcDeps {
  readonly processPayment: ProcessPayment;
  readonly refundPayment: RefundPayment;
  readonly faults: FaultInjector;
}

/** `payment.v1.PaymentService` over the use cases, with fault injection per method (`payment.<Method>`). */
export function paymentGrpcService(deps: PaymentGrpcDeps): ServiceImpl<typeof paymentV1.PaymentService> {
  const guarded = async <T>(method: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> => {
    const f = deps.faults.inject(`payment.${method}`, signal);
    if (f) await f;
    try {
      return await fn();
    } catch (err) {
      throw toApiError(err);
    }
  };
  return {
    async processPayment(req, ctx) {
      const p = await guarded('ProcessPayment', ctx.signal, () =>
        deps.processPayment.execute(
          {
            orderId: req.orderId,
            customerId: req.customerId,
            amount: { amount: Number(req.amount?.amount ?? 0n), currency: req.amount?.currency ?? '' },
            cardToken: req.cardToken,
            idempotencyKey: req.idempotencyKey,
          },
          { signal: ctx.signal },
        ),
      );
      return {
        paymentId: p.id,
        status: p.status === 'refunded' ? paymentV1.PaymentStatus.REFUNDED : paymentV1.PaymentStatus.CAPTURED,
        amount: { amount: BigInt(p.amount.amount), currency: p.amount.currency },
        processedAt: timestampFromDate(p.processedAt),
      };
    },
    async refundPayment(req, ctx) {
      const p = await guarded('RefundPayment', ctx.signal, () =>
        deps.refundPayment.execute(req.paymentId, req.idempotencyKey),
      );
      return {
        refundId: p.refund?.id ?? '',
        paymentId: p.id,
        amount: { amount: BigInt(p.amount.amount), currency: p.amount.currency },
        ...(p.refund ? { refundedAt: timestampFromDate(p.refund.refundedAt) } : {}),
      };
    },
  };
}
