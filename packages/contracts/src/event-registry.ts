import { type FieldViolation, SluiceError } from '@sluice/errors';
import type { EventDefinition } from './define-event.js';
import { EnvelopeSchema, type EventEnvelope, parseDataSchemaUri } from './envelope.js';
import { ContractsReasons } from './reasons.js';
import { checkSchema } from './schema-validation.js';

/** The outcome of {@link EventRegistry.validate}. */
export type EventValidation =
  | { readonly ok: true; readonly event: EventEnvelope; readonly definition: EventDefinition }
  | {
      readonly ok: false;
      /** `CONTRACTS_INVALID_EVENT` or `CONTRACTS_UNKNOWN_EVENT_TYPE`. */
      readonly reason: string;
      readonly violations: readonly FieldViolation[];
    };

/** The event types a producer or consumer knows, and the validation of envelopes against them. */
export interface EventRegistry {
  /** The definition of a type, at a major version (default: the highest registered). */
  get(type: string, version?: number): EventDefinition | undefined;
  /** Every registered definition. */
  list(): readonly EventDefinition[];
  /**
   * Checks an envelope (any value: a parsed JSON body, a message) and its
   * `data` against the type's schema. Never throws; lists every violation.
   */
  validate(value: unknown): EventValidation;
  /** Like {@link validate}, but throws a `SluiceError` (`invalid_argument`) listing every violation. */
  assertValid<T = unknown>(value: unknown): EventEnvelope<T>;
}

/**
 * Builds a registry of event definitions. Two definitions of the same type and
 * version are refused.
 *
 * @example
 * ```ts
 * const registry = createEventRegistry(shopEvents);
 * const r = registry.validate(JSON.parse(body));
 * if (!r.ok) console.log(r.violations); // [{ field: 'data.items.0.quantity', message: … }]
 * ```
 */
export function createEventRegistry(definitions: Iterable<EventDefinition>): EventRegistry {
  const byType = new Map<string, Map<number, EventDefinition>>();
  for (const def of definitions) {
    const versions = byType.get(def.type) ?? new Map<number, EventDefinition>();
    byType.set(def.type, versions);
    if (versions.has(def.version)) throw new Error(`event ${def.type} v${def.version} is defined twice`);
    versions.set(def.version, def);
  }
  const all = [...byType.values()].flatMap((v) => [...v.values()]);

  const get = (type: string, version?: number): EventDefinition | undefined => {
    const versions = byType.get(type);
    if (!versions) return undefined;
    if (version !== undefined) return versions.get(version);
    return versions.get(Math.max(...versions.keys()));
  };

  const validate = (value: unknown): EventValidation => {
    const envelope = checkSchema<EventEnvelope>(EnvelopeSchema, value);
    if (!envelope.ok) {
      // Still check the data when the type is known, so the caller sees every problem at once.
      const v = value as { type?: unknown; data?: unknown } | null;
      const def = v && typeof v === 'object' && typeof v.type === 'string' ? get(v.type) : undefined;
      const dataViolations = def ? dataErrors(def, v?.data) : [];
      return {
        ok: false,
        reason: ContractsReasons.CONTRACTS_INVALID_EVENT,
        violations: [...envelope.violations, ...dataViolations],
      };
    }
    const event = envelope.value;
    const schemaRef = parseDataSchemaUri(event.dataschema);
    if (!schemaRef || schemaRef.type !== event.type) {
      return {
        ok: false,
        reason: ContractsReasons.CONTRACTS_INVALID_EVENT,
        violations: [{ field: 'dataschema', message: `expected urn:sluice:schema:${event.type}:v<major>` }],
      };
    }
    const def = get(event.type, schemaRef.version);
    if (!def) {
      return {
        ok: false,
        reason: ContractsReasons.CONTRACTS_UNKNOWN_EVENT_TYPE,
        violations: [{ field: 'type', message: `unknown event type ${event.type} v${schemaRef.version}` }],
      };
    }
    const violations = dataErrors(def, event.data);
    if (violations.length > 0)
      return { ok: false, reason: ContractsReasons.CONTRACTS_INVALID_EVENT, violations };
    return { ok: true, event, definition: def };
  };

  return {
    get,
    list: () => all,
    validate,
    assertValid<T>(value: unknown): EventEnvelope<T> {
      const r = validate(value);
      if (r.ok) return r.event as EventEnvelope<T>;
      throw new SluiceError({
        code: 'invalid_argument',
        reason: r.reason,
        message: `invalid event: ${r.violations.map((x) => `${x.field}: ${x.message}`).join('; ')}`,
        details: { violations: r.violations },
      });
    },
  };
}

function dataErrors(def: EventDefinition, data: unknown): readonly FieldViolation[] {
  const r = checkSchema(def.schema, data, 'data');
  return r.ok ? [] : r.violations;
}
