import { randomUUID } from 'node:crypto';
import type { EventEnvelope, EventRegistry } from '@sluice/contracts';
import { SluiceError } from '@sluice/errors';
import { SagaReasons } from '../reasons.js';
import { followUp } from './follow-up.js';
import type { ChoreographyInbox, ChoreographyOutbox } from './ports.js';

/** What a reaction handler receives beside the event. */
export interface ReactionContext<Tx> {
  /** The inbox's transaction: write the handler's own state with it, so it commits with the event's handled mark. */
  readonly tx: Tx;
  /** `<consumer>:<event id>`: stable across redeliveries, for calls the handler makes. */
  readonly idempotencyKey: string;
  /**
   * Queues a follow-up event (correlation kept, causation = the incoming
   * event), written to the outbox in `tx` when the handler returns.
   */
  emit<T, K extends string>(
    type: K,
    data: T,
    options?: { readonly subject?: string; readonly version?: number; readonly traceparent?: string },
  ): EventEnvelope<T, K>;
}

/** A reaction's logic. */
export type ReactionHandler<T, Tx> = (
  event: EventEnvelope<T>,
  context: ReactionContext<Tx>,
) => void | Promise<void>;

/** Options of {@link react}. */
export interface ReactOptions<Tx> {
  /** Name of the consuming service or handler (the inbox key, e.g. `inventory.reserve-on-order-placed`). */
  readonly consumer: string;
  /** CloudEvents `source` of the follow-up events (the service, e.g. `inventory`). */
  readonly source: string;
  readonly inbox: ChoreographyInbox<Tx>;
  readonly outbox: ChoreographyOutbox<Tx>;
  /** Validates the incoming event and every follow-up against their schemas. Default: no validation. */
  readonly registry?: EventRegistry;
  /** Epoch ms for follow-up `time`. Default `Date.now`. */
  readonly now?: () => number;
  /** Follow-up id generator. Default `crypto.randomUUID`. */
  readonly newId?: () => string;
}

/** What handling one delivery did. */
export interface ReactionOutcome {
  /** False when the inbox had already handled this event id (a redelivery): nothing ran. */
  readonly handled: boolean;
  /** The follow-up events written to the outbox. */
  readonly emitted: readonly EventEnvelope[];
}

/** A handler bound to one event type; give `handle` to the subscription of that type. */
export interface Reaction {
  readonly eventType: string;
  readonly consumer: string;
  handle(event: EventEnvelope): Promise<ReactionOutcome>;
}

/**
 * A choreography step: consumes `eventType` through the inbox (once per event
 * id) and publishes follow-ups through the outbox in the same transaction,
 * with `correlationid` kept and `causationid` = the consumed event's id.
 *
 * @example
 * ```ts
 * const reserveOnPlaced = react('order.placed', async (event, { tx, emit }) => {
 *   const r = await reservations.reserve(tx, event.data);
 *   emit('inventory.reserved', { orderId: event.data.orderId, reservationId: r.id, ... });
 * }, { consumer: 'inventory', source: 'inventory', inbox, outbox });
 * subscriber.on('order.placed', reserveOnPlaced.handle);
 * ```
 */
export function react<T, Tx>(
  eventType: string,
  handler: ReactionHandler<T, Tx>,
  options: ReactOptions<Tx>,
): Reaction {
  const now = options.now ?? Date.now;
  const newId = options.newId ?? randomUUID;
  const { consumer, inbox, outbox, registry } = options;
  return {
    eventType,
    consumer,
    handle: async (event) => {
      if (event?.type !== eventType) {
        throw new SluiceError({
          code: 'invalid_argument',
          reason: SagaReasons.UNEXPECTED_EVENT,
          message: `${consumer} reacts to ${eventType}, not ${String(event?.type)}`,
          details: { violations: [{ field: 'type', message: `expected ${eventType}` }] },
        });
      }
      if (registry !== undefined) registry.assertValid(event);
      let emitted: EventEnvelope[] = [];
      const handled = await inbox.handleOnce(consumer, event, async (tx) => {
        const queued: EventEnvelope[] = [];
        await handler(event as EventEnvelope<T>, {
          tx,
          idempotencyKey: `${consumer}:${event.id}`,
          emit(type, data, emitOptions = {}) {
            const e = followUp(event, {
              type,
              data,
              source: options.source,
              id: newId(),
              time: now(),
              ...emitOptions,
            });
            if (registry !== undefined) registry.assertValid(e);
            queued.push(e);
            return e;
          },
        });
        if (queued.length > 0) await outbox.add(tx, queued);
        emitted = queued;
      });
      return { handled, emitted: handled ? emitted : [] };
    },
  };
}
