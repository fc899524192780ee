import type { EventEnvelope } from '@sluice/contracts';
import type { SettleReservation } from './settle-reservation.use-case.js';

/** The idempotency key of an order's reservation, the same in both saga modes' reactions. */
export const reservationKeyOf = (orderId: string) => `${orderId}:reserve`;

/**
 * What the inventory does when an order's flow moves on without being called:
 * a confirmed order turns its reservation into sold stock (both modes). In
 * orchestration mode the orchestrator reserved with the saga's step key, so the
 * reservation is found by the `reservationId` the event carries.
 */
export class OrderFlowReactions {
  constructor(private readonly deps: { settle: SettleReservation }) {}

  async onOrderConfirmed(event: EventEnvelope<{ orderId: string; reservationId?: string }>): Promise<void> {
    if (event.data.reservationId) {
      await this.deps.settle.commit(event.data.reservationId, event);
    } else {
      await this.deps.settle.commitByKey(reservationKeyOf(event.data.orderId), event);
    }
  }
}
