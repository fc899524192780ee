import { createEnvelope, type EventEnvelope } from '@sluice/contracts';
import { type Reservation, reserve, type StockLine } from '../domain/reservation.js';
import type { InventoryStore, StockChangeListener } from './inventory.store.js';

/** Default time a reservation holds stock: 15 minutes. */
export const DEFAULT_RESERVATION_TTL_SECONDS = 15 * 60;

/** Input of {@link ReserveStock}. */
export interface ReserveStockCommand {
  readonly orderId: string;
  readonly items: readonly StockLine[];
  /** Seconds until the reservation expires. Default 900. */
  readonly expiresInSeconds?: number;
  /** The same key never reserves twice: a repeat returns the first reservation. */
  readonly idempotencyKey: string;
  /** The event this reservation reacts to (choreography), for the causation chain. */
  readonly causedBy?: Pick<EventEnvelope, 'id' | 'correlationid'>;
}

/** Dependencies of {@link ReserveStock}. */
export interface ReserveStockDeps {
  readonly store: InventoryStore;
  readonly now: () => Date;
  readonly newId: () => string;
  readonly onStockChange?: StockChangeListener;
  /** CloudEvents `source` of the events. */
  readonly source: string;
}

/**
 * Holds stock for an order, all lines or none; idempotent by key. Emits
 * `inventory.reserved` through the outbox in the same transaction.
 */
export class ReserveStock {
  constructor(private readonly deps: ReserveStockDeps) {}

  async execute(cmd: ReserveStockCommand): Promise<Reservation> {
    const { store, now, newId, source } = this.deps;
    const at = now();
    const ttl =
      cmd.expiresInSeconds && cmd.expiresInSeconds > 0
        ? cmd.expiresInSeconds
        : DEFAULT_RESERVATION_TTL_SECONDS;
    let changed: Parameters<StockChangeListener>[0] = [];
    const reservation = await store.mutate(
      { productIds: cmd.items.map((l) => l.productId), idempotencyKey: cmd.idempotencyKey },
      (state) => {
        if (state.reservation) return { result: state.reservation };
        const change = reserve(state.stock, {
          reservationId: newId(),
          orderId: cmd.orderId,
          items: cmd.items,
          idempotencyKey: cmd.idempotencyKey,
          now: at,
          expiresAt: new Date(at.getTime() + ttl * 1000),
        });
        changed = change.stock;
        const event = createEnvelope({
          type: 'inventory.reserved',
          source,
          subject: cmd.orderId,
          time: at,
          ...(cmd.causedBy ? { causedBy: cmd.causedBy } : { correlationId: cmd.orderId }),
          data: {
            orderId: cmd.orderId,
            reservationId: change.reservation.id,
            items: change.reservation.items.map((l) => ({ ...l })),
            expiresAt: change.reservation.expiresAt.toISOString(),
          },
        });
        return { change, events: [event], result: change.reservation };
      },
    );
    if (changed.length > 0) this.deps.onStockChange?.(changed, at);
    return reservation;
  }
}
