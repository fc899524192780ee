/**
 * The contract every messaging transport implements (embedded SQLite,
 * PostgreSQL, NATS JetStream, RabbitMQ). It moves opaque bodies with headers;
 * the bus above it (`createBus`) adds envelopes, schema validation, retry
 * decisions, dead-lettering policy, the inbox and tracing. One conformance
 * suite (`describeTransportConformance`) runs against every implementation.
 *
 * ## The model: topics and groups
 * Everything is published to a **topic**. Consumers consume a topic as a
 * member of a **group**: every group gets its own copy of every message
 * published after the group was first declared (pub/sub fan-out), and the
 * members of one group compete (each message to one member). A **work queue**
 * is a topic consumed by the single group {@link WORK_QUEUE_GROUP}; sending to
 * a work queue declares that group first, so nothing sent is dropped.
 *
 * Delivery is **at-least-once** on every transport. "Effectively once" is
 * at-least-once plus deduplication by message id in the consumer's own
 * transaction (the inbox).
 */

/** Priority of a message within its topic/group: `high` is handed out before `normal`, `normal` before `low`. */
export type Priority = 'high' | 'normal' | 'low';

/** The group a work queue's consumers share. */
export const WORK_QUEUE_GROUP = 'default';

/** One message to publish. */
export interface OutgoingMessage {
  /**
   * Unique message id (for events: the envelope id). Transports use it as the
   * broker's message id / dedup id where the broker has one; the DLQ is keyed
   * by it (per group).
   */
  readonly id: string;
  /** The body, usually a JSON CloudEvents envelope encoded as UTF-8. */
  readonly body: Uint8Array;
  /** String headers carried beside the body (`traceparent`, `content-type`, …). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Default `normal`. */
  readonly priority?: Priority;
  /** Not delivered before this time (scheduled delivery). Default: at once. */
  readonly deliverAt?: Date;
  /**
   * Messages with the same key are delivered in publish order, one at a time
   * per group, across competing consumers; a message that is being retried
   * holds back only its own key.
   */
  readonly orderingKey?: string;
}

/**
 * One delivery of a message to one member of a group. Settle it exactly once
 * (`ack`, `retry` or `deadLetter`). A handler that returns or throws without
 * settling leaves the delivery unsettled: its lease is no longer renewed and
 * it is delivered again (`attempt + 1`) once the lease expires. (The bus
 * always settles; this is the transport-level rule.)
 */
export interface Delivery {
  /** The message id given at publish. */
  readonly id: string;
  readonly topic: string;
  readonly group: string;
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** 1 on the first delivery; counts every delivery, including redeliveries after a consumer died. */
  readonly attempt: number;
  readonly priority: Priority;
  readonly orderingKey: string | undefined;
  /** When it was published. */
  readonly publishedAt: Date;
  /** Acknowledge: done, never deliver again to this group. */
  ack(): Promise<void>;
  /**
   * Negative acknowledgement: deliver again (to any member) no sooner than
   * `delayMs` from now (0 = as soon as possible). The next delivery has
   * `attempt + 1`. Its ordering key stays blocked until then.
   */
  retry(delayMs: number): Promise<void>;
  /**
   * Move it to the group's dead-letter queue with the reason; it is not
   * delivered again unless replayed. The DLQ keeps the original body and
   * headers, the error, the attempt count and the times.
   */
  deadLetter(failure: DeadLetterFailure): Promise<void>;
  /**
   * Tell the transport the handler is still working, so the delivery is not
   * given to another member (lease/visibility renewal). Consumers renew
   * automatically every `leaseMs / 3`; call it only for unusual cases.
   */
  extendLease(): Promise<void>;
}

/** Why a message was dead-lettered. */
export interface DeadLetterFailure {
  /** Human-readable error message of the last failure. */
  readonly error: string;
  /** Stable reason (`MESSAGING_MAX_ATTEMPTS`, `MESSAGING_INVALID_MESSAGE`, a handler's SluiceError reason…). */
  readonly reason: string;
}

/** A message in a dead-letter queue. */
export interface DeadLetter {
  /** The original message id. */
  readonly id: string;
  readonly topic: string;
  readonly group: string;
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly priority: Priority;
  readonly orderingKey: string | undefined;
  readonly error: string;
  readonly reason: string;
  /** Deliveries made before it was dead-lettered. */
  readonly attempts: number;
  readonly publishedAt: Date;
  readonly deadLetteredAt: Date;
}

/** Filter of DLQ operations; every field narrows. */
export interface DeadLetterFilter {
  readonly topic?: string;
  readonly group?: string;
  /** Only these message ids. */
  readonly ids?: readonly string[];
}

/** Operator access to dead letters. */
export interface DeadLetterStore {
  /** Dead letters, oldest first. `limit` default 100. */
  list(
    filter?: DeadLetterFilter & { readonly limit?: number; readonly offset?: number },
  ): Promise<DeadLetter[]>;
  /** One dead letter of a group, or `undefined`. */
  get(topic: string, group: string, id: string): Promise<DeadLetter | undefined>;
  /** How many match. */
  count(filter?: DeadLetterFilter): Promise<number>;
  /**
   * Puts matching dead letters back on their group as new deliveries with
   * `attempt` starting at 1 again; they leave the DLQ. Returns how many.
   */
  replay(filter?: DeadLetterFilter): Promise<number>;
  /** Deletes matching dead letters. Returns how many. */
  purge(filter?: DeadLetterFilter): Promise<number>;
}

/** Options of {@link Transport.consume}. */
export interface ConsumeOptions {
  /** Deliveries in flight at once for this consumer (handler concurrency). Default 10. */
  readonly prefetch?: number;
  /**
   * How long a delivery stays owned by this consumer without a renewal, in ms,
   * before another member may get it (visibility timeout / ack wait). The
   * consumer renews every `leaseMs / 3` while the handler runs, so a live but
   * slow handler keeps it and a killed process loses it after at most
   * `leaseMs`. Default 10 000.
   */
  readonly leaseMs?: number;
}

/** A running consumer. */
export interface Consumer {
  /** Stops fetching, waits for in-flight handlers to settle (up to `timeoutMs`, default 30 000), then detaches. */
  stop(timeoutMs?: number): Promise<void>;
}

/** How a transport provides a capability. */
export type Support = 'native' | 'emulated' | 'unsupported';

/** What a transport can do, and how (documented in the package README's matrix). */
export interface TransportCapabilities {
  readonly priority: Support;
  readonly delayedDelivery: Support;
  readonly orderingKey: Support;
  readonly deadLetters: Support;
  /** Largest body accepted, in bytes. */
  readonly maxMessageBytes: number;
}

/** Live counts for dashboards and metrics. */
export interface GroupStats {
  readonly topic: string;
  readonly group: string;
  /** Ready or scheduled, not yet handed out. */
  readonly pending: number;
  /** Handed out, not yet settled. */
  readonly inFlight: number;
  readonly deadLettered: number;
}

/**
 * A messaging transport. Implementations: `embedded` (SQLite file),
 * `postgres`, `nats` (JetStream), `rabbitmq` (AMQP 0-9-1).
 */
export interface Transport {
  /** `embedded` | `postgres` | `nats` | `rabbitmq`. */
  readonly kind: string;
  readonly capabilities: TransportCapabilities;
  /**
   * Declares that `group` consumes `topic` (idempotent, durable): from now on
   * every message published to the topic is kept for the group even while no
   * member is connected.
   */
  declareGroup(topic: string, group: string): Promise<void>;
  /**
   * Publishes messages to a topic; resolves once the transport has made them
   * durable (committed / confirmed by the broker). A batch is atomic where the
   * broker allows it. A message asking for a capability the transport lacks is
   * refused (`MESSAGING_UNSUPPORTED`) — never silently ignored.
   */
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /**
   * Starts a member of `group` on `topic` (declaring the group if needed).
   * Topic and group names: 1–200 of `[A-Za-z0-9._-]`, starting with a letter
   * or digit (`NAME_PATTERN`); anything else is `invalid_argument`.
   */
  consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Consumer>;
  /** The dead-letter queues of every group. */
  readonly deadLetters: DeadLetterStore;
  /** Counts per declared group (of `topic`, or all). */
  stats(topic?: string): Promise<GroupStats[]>;
  /** Stops every consumer (as `Consumer.stop`) and closes connections. Idempotent. */
  close(): Promise<void>;
}
