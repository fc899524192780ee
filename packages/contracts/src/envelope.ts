import { randomUUID } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { IdSchema, TimestampSchema } from './ids.js';

/** CloudEvents `type` of a Sluice event: dotted lower-case words, e.g. `order.placed`. */
export const EVENT_TYPE_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$';

/** W3C trace context `traceparent` header value. */
export const TRACEPARENT_PATTERN = '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$';

/**
 * The envelope of every Sluice event: the CloudEvents 1.0 context attributes
 * (JSON format: lower-case names) plus the extensions Sluice uses to keep
 * chains of events together. The attribute set is closed: a misspelt
 * attribute is an error, not a silently ignored extension. `data` is checked
 * by the schema of the event's type (see `defineEvent`).
 */
export const EnvelopeSchema = Type.Object(
  {
    /** CloudEvents version; always `1.0`. */
    specversion: Type.Literal('1.0'),
    /** Unique event id: consumers deduplicate on it (the inbox). */
    id: IdSchema,
    /** Event type, e.g. `order.placed`. */
    type: Type.String({ minLength: 3, maxLength: 128, pattern: EVENT_TYPE_PATTERN }),
    /** The service that emitted it, e.g. `order-service` or `/shop/order`. */
    source: Type.String({ minLength: 1, maxLength: 256 }),
    /** When it happened (RFC 3339). */
    time: TimestampSchema,
    /** What it is about, usually the aggregate id (the order id). */
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    /** Always JSON. */
    datacontenttype: Type.Optional(Type.Literal('application/json')),
    /** Schema id of `data`, `urn:sluice:schema:<type>:v<major>` (see `dataSchemaUri`). */
    dataschema: Type.String({ minLength: 1, maxLength: 256 }),
    /** The event's payload, validated against its type's schema. */
    data: Type.Unknown(),
    /** The id shared by every event of one business flow (an order's id chain). */
    correlationid: IdSchema,
    /** The id of the event or command that caused this one (absent for the first). */
    causationid: Type.Optional(IdSchema),
    /** The end user on whose behalf it happened, when known. */
    userid: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    /** W3C trace context of the producer, so consumers continue the trace. */
    traceparent: Type.Optional(Type.String({ pattern: TRACEPARENT_PATTERN })),
    /** W3C `tracestate`, passed through unchanged. */
    tracestate: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { $id: 'EventEnvelope', additionalProperties: false },
);

/** An event envelope whose `data` is of type `T`. */
export type EventEnvelope<T = unknown, K extends string = string> = Omit<
  Static<typeof EnvelopeSchema>,
  'data' | 'type'
> & { readonly type: K; readonly data: T };

/** The schema id written into `dataschema` for a type and major version. */
export function dataSchemaUri(type: string, version: number): string {
  return `urn:sluice:schema:${type}:v${version}`;
}

/** Reads the `(type, major)` back out of a {@link dataSchemaUri}; `undefined` when it is not one. */
export function parseDataSchemaUri(uri: string): { type: string; version: number } | undefined {
  const m = /^urn:sluice:schema:([a-z0-9_.]+):v([1-9][0-9]{0,3})$/.exec(uri);
  return m ? { type: m[1] as string, version: Number(m[2]) } : undefined;
}

/** What the producer supplies to build an envelope; the rest is filled in. */
export interface EnvelopeInput<T, K extends string = string> {
  readonly type: K;
  readonly source: string;
  readonly data: T;
  /** Major schema version of `data`. Default: 1. */
  readonly version?: number;
  /** Default: a random UUID. */
  readonly id?: string;
  /** Default: now. */
  readonly time?: Date | string;
  readonly subject?: string;
  /** Default: `causedBy.correlationid`, else the new event's own id (it starts a flow). */
  readonly correlationId?: string;
  /** Default: `causedBy.id`. */
  readonly causationId?: string;
  /** The event this one reacts to: its correlation id is kept, its id becomes the causation id. */
  readonly causedBy?: Pick<EventEnvelope, 'id' | 'correlationid'> & { readonly userid?: string | undefined };
  readonly userId?: string;
  readonly traceparent?: string;
}

/**
 * Builds a complete envelope: a fresh id and time, the `dataschema` of the
 * type's version, and the correlation chain (`causedBy` keeps the flow's
 * correlation id and records the cause).
 *
 * @example
 * ```ts
 * const placed = createEnvelope({ type: 'order.placed', source: 'order', subject: 'o-1', data });
 * const reserved = createEnvelope({ type: 'inventory.reserved', source: 'inventory', data: r, causedBy: placed });
 * reserved.correlationid === placed.correlationid; reserved.causationid === placed.id;
 * ```
 */
export function createEnvelope<T, K extends string>(input: EnvelopeInput<T, K>): EventEnvelope<T, K> {
  const id = input.id ?? randomUUID();
  const time =
    input.time === undefined
      ? new Date().toISOString()
      : typeof input.time === 'string'
        ? input.time
        : input.time.toISOString();
  const userid = input.userId ?? input.causedBy?.userid;
  const causationid = input.causationId ?? input.causedBy?.id;
  return {
    specversion: '1.0',
    id,
    type: input.type,
    source: input.source,
    time,
    ...(input.subject === undefined ? {} : { subject: input.subject }),
    datacontenttype: 'application/json',
    dataschema: dataSchemaUri(input.type, input.version ?? 1),
    data: input.data,
    correlationid: input.correlationId ?? input.causedBy?.correlationid ?? id,
    ...(causationid === undefined ? {} : { causationid }),
    ...(userid === undefined ? {} : { userid }),
    ...(input.traceparent === undefined ? {} : { traceparent: input.traceparent }),
  };
}
