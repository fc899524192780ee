import type { Static, TSchema } from '@sinclair/typebox';
import { dataSchemaUri } from './envelope.js';

/** A declared event type: its name, major version and the schema of its `data`. */
export interface EventDefinition<K extends string = string, S extends TSchema = TSchema> {
  /** CloudEvents `type`, e.g. `order.placed`. */
  readonly type: K;
  /** Major version of the data schema. Changes within a major are additive only. */
  readonly version: number;
  /** TypeBox schema of `data` (a JSON Schema object). */
  readonly schema: S;
  /** `dataschema` id of this version, `urn:sluice:schema:<type>:v<version>`. */
  readonly dataschema: string;
  /** One line on when the event is emitted. */
  readonly description: string;
}

/** The TypeScript type of an event definition's data. */
export type EventData<D extends EventDefinition> = Static<D['schema']>;

/**
 * Declares an event type once: the schema is used to validate at publish and at
 * consume, and exported as JSON Schema (`npm run generate` writes
 * `gen/json-schema/`).
 *
 * Data schemas should allow additional properties, so a consumer built against
 * an older minor still accepts events from a newer producer (additive evolution).
 *
 * @example
 * ```ts
 * const OrderPlaced = defineEvent({
 *   type: 'order.placed', version: 1, description: 'an order was accepted',
 *   schema: Type.Object({ orderId: IdSchema }),
 * });
 * ```
 */
export function defineEvent<K extends string, S extends TSchema>(def: {
  readonly type: K;
  readonly version?: number;
  readonly schema: S;
  readonly description: string;
}): EventDefinition<K, S> {
  const version = def.version ?? 1;
  if (!Number.isInteger(version) || version < 1)
    throw new RangeError(`event version must be a positive integer, got ${version}`);
  return Object.freeze({
    type: def.type,
    version,
    schema: def.schema,
    dataschema: dataSchemaUri(def.type, version),
    description: def.description,
  });
}
