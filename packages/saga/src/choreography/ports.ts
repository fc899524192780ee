import type { EventEnvelope } from '@sluice/contracts';

/**
 * Port: the idempotent consumer (inbox). The shop wires `@sluice/messaging`'s
 * inbox here: `work` and the record that `consumer` handled `event.id` must
 * commit in one transaction, so a redelivered event has no second effect.
 * `Tx` is whatever transaction handle the inbox opens (passed to the outbox).
 */
export interface ChoreographyInbox<Tx = unknown> {
  /**
   * Runs `work` inside a transaction together with marking `event.id` as
   * handled by `consumer`. Resolves `false` without running `work` when it
   * was handled already.
   */
  handleOnce(consumer: string, event: EventEnvelope, work: (tx: Tx) => Promise<void>): Promise<boolean>;
}

/**
 * Port: the transactional outbox. The shop wires `@sluice/messaging`'s
 * outbox here: `add` writes the events in the inbox's transaction `tx`; a
 * relay publishes them after commit.
 */
export interface ChoreographyOutbox<Tx = unknown> {
  add(tx: Tx, events: readonly EventEnvelope[]): void | Promise<void>;
}

/** One event of a flow, with who consumed it (when the source knows). */
export interface FlowRecord {
  readonly event: EventEnvelope;
  /** The consumers (services) that handled it, and when (epoch ms or RFC 3339). */
  readonly handledBy?: readonly { readonly service: string; readonly at: number | string }[];
}

/**
 * Port: lists every event that carries a correlation id. The shop wires it
 * to `@sluice/messaging` (the outbox tables of its services, or an event
 * log), so `traceFlow` can rebuild a whole order's chain.
 */
export interface FlowEventSource {
  listByCorrelation(correlationId: string): Promise<readonly FlowRecord[]>;
}
