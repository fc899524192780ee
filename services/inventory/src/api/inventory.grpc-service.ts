import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { inventoryV1 } from '@sluice/contracts';
import type { ServiceImpl } from '@sluice/grpc';
import type { FaultInjector } from '@sluice/service';
import { checkAvailability } from '../application/check-availability.use-case.js';
import type { InventoryStore } from '../application/inventory.store.js';
import type { ReserveStock } from '../application/reserve-stock.use-case.js';
import type { SettleReservation } from '../application/settle-reservation.use-case.js';
import type { StockWatchers } from '../application/stock-watchers.js';
import { toApiError } from './inventory-errors.mapping.js';

/** Dependencies of the gRPC InventoryService. */
export interface InventoryGrpcDeps {
  readonly store: InventoryStore;
  readonly reserveStock: ReserveStock;
  readonly settle: SettleReservation;
  readonly watchers: StockWatchers;
  readonly faults: FaultInjector;
}

type Impl = ServiceImpl<typeof inventoryV1.InventoryService>;

/**
 * `inventory.v1.InventoryService` over the use cases. Each call first passes
 * the operator's fault injection (`inventory.<Method>`), so latency, errors
 * and hangs can be added to exactly this call.
 */
export function inventoryGrpcService(deps: InventoryGrpcDeps): Impl {
  const fault = async (method: string, signal: AbortSignal) => {
    const f = deps.faults.inject(`inventory.${method}`, signal);
    if (f) await f;
  };
  const mapped = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toApiError(err);
    }
  };
  return {
    async checkAvailability(req, ctx) {
      await fault('CheckAvailability', ctx.signal);
      const a = await mapped(() => checkAvailability(deps.store, req.productId, req.quantity));
      return { productId: a.productId, available: a.available, currentStock: a.currentStock };
    },
    async reserveStock(req, ctx) {
      await fault('ReserveStock', ctx.signal);
      const r = await mapped(() =>
        deps.reserveStock.execute({
          orderId: req.orderId,
          items: req.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
          idempotencyKey: req.idempotencyKey,
          ...(req.expiresInSeconds > 0 ? { expiresInSeconds: req.expiresInSeconds } : {}),
        }),
      );
      return { reservationId: r.id, expiresAt: timestampFromDate(r.expiresAt) };
    },
    async releaseReservation(req, ctx) {
      await fault('ReleaseReservation', ctx.signal);
      await mapped(() => deps.settle.release(req.reservationId));
      return {};
    },
    async *watchInventory(req, ctx) {
      await fault('WatchInventory', ctx.signal);
      // The current level first, then every change.
      const ids = [...new Set(req.productIds)];
      for (const s of ids.length > 0
        ? await Promise.all(ids.map((id) => deps.store.getStock(id)))
        : await deps.store.listStock()) {
        if (s)
          yield { productId: s.productId, availableStock: s.available, at: timestampFromDate(new Date()) };
      }
      for await (const u of deps.watchers.watch(ids, ctx.signal)) {
        yield { productId: u.productId, availableStock: u.available, at: timestampFromDate(u.at) };
      }
    },
    async *batchCheckAvailability(requests, ctx) {
      for await (const req of requests) {
        await fault('BatchCheckAvailability', ctx.signal);
        const a = await mapped(() => checkAvailability(deps.store, req.productId, req.quantity));
        yield { productId: a.productId, available: a.available, currentStock: a.currentStock };
      }
    },
  };
}
