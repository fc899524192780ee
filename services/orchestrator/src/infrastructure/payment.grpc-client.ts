import type { paymentV1 } from '@sluice/contracts';
import type { GrpcClient } from '@sluice/grpc';
import type { PaymentPort } from '../application/order-flow.ports.js';

/** The saga's payment port over gRPC `PaymentService`. */
export class PaymentGrpcClient implements PaymentPort {
  constructor(private readonly client: GrpcClient<typeof paymentV1.PaymentService>) {}

  async charge(request: Parameters<PaymentPort['charge']>[0], signal: AbortSignal) {
    const res = await this.client.processPayment(
      {
        orderId: request.orderId,
        customerId: request.customerId,
        amount: { amount: BigInt(request.amount.amount), currency: request.amount.currency },
        cardToken: request.cardToken,
        idempotencyKey: request.idempotencyKey,
      },
      { signal },
    );
    return { paymentId: res.paymentId };
  }

  async refund(paymentId: string, idempotencyKey: string, signal: AbortSignal) {
    await this.client.refundPayment({ paymentId, idempotencyKey }, { signal });
  }
}
