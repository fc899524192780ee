import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { inventoryV1 } from '@sluice/contracts';
import type { GrpcClient } from '@sluice/grpc';
import type { InventoryPort } from '../application/order-flow.ports.js';

/** The saga's inventory port over gRPC `InventoryService` (the client carries the resilience pipeline). */
export class InventoryGrpcClient implements InventoryPort {
  constructor(private readonly client: GrpcClient<typeof inventoryV1.InventoryService>) {}

  async reserve(request: Parameters<InventoryPort['reserve']>[0], signal: AbortSignal) {
    const res = await this.client.reserveStock(
      {
        orderId: request.orderId,
        items: request.items.map((i) => ({ ...i })),
        idempotencyKey: request.idempotencyKey,
      },
      { signal },
    );
    return {
      reservationId: res.reservationId,
      expiresAt: (res.expiresAt ? timestampDate(res.expiresAt) : new Date()).toISOString(),
    };
  }

  async release(reservationId: string, signal: AbortSignal) {
    await this.client.releaseReservation({ reservationId }, { signal });
  }
}
