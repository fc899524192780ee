import { createEnvelope, type EventEnvelope } from '@sluice/contracts';
import { ReservationNotFoundError } from '../domain/inventory-errors.js';
import { commit, expire, type Reservation, release, type StockChange } from '../domain/reservation.js';
import type { InventoryStore, StockChangeListener } from './inventory.store.js';

/** Dependencies of the settle use cases. */
export interface SettleDeps {
  readonly store: InventoryStore;
  readonly now: () => Date;
  readonly onStockChange?: StockChangeListener;
  readonly source: string;
}

type Move = 'release' | 'commit' | 'expire';
const MOVES = { release, commit, expire } as const;

/**
 * Releases, commits or expires one reservation, idempotently: a repeat finds
 * the reservation already settled and changes nothing. A release or an expiry
 * that gave units back emits `inventory.released`.
 */
export class SettleReservation {
  constructor(private readonly deps: SettleDeps) {}

  release(
    reservationId: string,
    causedBy?: Pick<EventEnvelope, 'id' | 'correlationid'>,
  ): Promise<Reservation> {
    return this.settle('release', { reservationId }, causedBy);
  }

  commit(
    reservationId: string,
    causedBy?: Pick<EventEnvelope, 'id' | 'correlationid'>,
  ): Promise<Reservation> {
    return this.settle('commit', { reservationId }, causedBy);
  }

  /** Settles the reservation made with this idempotency key (choreography knows keys, not ids). */
  releaseByKey(idempotencyKey: string, causedBy?: Pick<EventEnvelope, 'id' | 'correlationid'>) {
    return this.settle('release', { idempotencyKey }, causedBy, true);
  }

  commitByKey(idempotencyKey: string, causedBy?: Pick<EventEnvelope, 'id' | 'correlationid'>) {
    return this.settle('commit', { idempotencyKey }, causedBy, true);
  }

  expire(reservationId: string): Promise<Reservation> {
    return this.settle('expire', { reservationId });
  }

  private async settle(
    move: Move,
    query: { reservationId?: string; idempotencyKey?: string },
    causedBy?: Pick<EventEnvelope, 'id' | 'correlationid'>,
    missingIsNoop = false,
  ): Promise<Reservation> {
    const { store, now, source } = this.deps;
    const at = now();
    let change: StockChange | undefined;
    // Stock rows are loaded by the store for the reservation's own products.
    const result = await store.mutate(query, (state) => {
      const reservation = state.reservation;
      if (!reservation) {
        if (missingIsNoop) return { result: undefined };
        throw new ReservationNotFoundError(query.reservationId ?? query.idempotencyKey ?? '');
      }
      change = MOVES[move](state.stock, reservation, at);
      if (change.stock.length === 0) return { result: change.reservation };
      const events =
        move === 'commit'
          ? []
          : [
              createEnvelope({
                type: 'inventory.released',
                source,
                subject: reservation.orderId,
                time: at,
                ...(causedBy ? { causedBy } : { correlationId: reservation.orderId }),
                data: {
                  reservationId: reservation.id,
                  orderId: reservation.orderId,
                  cause: move === 'expire' ? ('expired' as const) : ('released' as const),
                  items: reservation.items.map((l) => ({ ...l })),
                },
              }),
            ];
      return { change, events, result: change.reservation };
    });
    if (change && change.stock.length > 0) this.deps.onStockChange?.(change.stock, at);
    return result as Reservation;
  }
}

/** Expires every due reservation, a batch at a time; returns how many expired. */
export async function expireDueReservations(
  settle: SettleReservation,
  store: InventoryStore,
  now: () => Date,
  batch = 100,
): Promise<number> {
  let expired = 0;
  for (;;) {
    const due = await store.dueReservations(now(), batch);
    for (const id of due) {
      const r = await settle.expire(id);
      if (r.status === 'expired') expired++;
    }
    if (due.length < batch) return expired;
  }
}
