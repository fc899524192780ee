import { checkSchema, EnvelopeSchema, type EventEnvelope, type EventRegistry } from '@sluice/contracts';
import { type FieldViolation, SluiceError } from '@sluice/errors';
import { MessagingReasons } from '../reasons.js';

/**
 * JSON (CloudEvents structured mode) encoding of envelopes, and their
 * validation: by an `EventRegistry` when the bus has one (envelope, known type
 * and version, data schema), else by the envelope schema alone.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The outcome of checking an envelope. */
export type EnvelopeCheck =
  | { readonly ok: true; readonly event: EventEnvelope }
  | { readonly ok: false; readonly reason: string; readonly violations: readonly FieldViolation[] };

/** Checks any value as an envelope. Never throws. */
export function checkEnvelope(value: unknown, registry: EventRegistry | undefined): EnvelopeCheck {
  if (registry) {
    const r = registry.validate(value);
    return r.ok ? { ok: true, event: r.event } : { ok: false, reason: r.reason, violations: r.violations };
  }
  const r = checkSchema<EventEnvelope>(EnvelopeSchema, value);
  return r.ok
    ? { ok: true, event: r.value }
    : { ok: false, reason: MessagingReasons.INVALID_MESSAGE, violations: r.violations };
}

/** `invalid_argument` / `MESSAGING_INVALID_MESSAGE` listing every violation (`cause` reason in metadata). */
export function invalidEvent(violations: readonly FieldViolation[], cause?: string): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: MessagingReasons.INVALID_MESSAGE,
    message: `invalid event: ${violations.map((v) => `${v.field}: ${v.message}`).join('; ')}`,
    details: {
      violations,
      ...(cause && cause !== MessagingReasons.INVALID_MESSAGE ? { metadata: { cause } } : {}),
    },
  });
}

/** Encodes an envelope as UTF-8 JSON; throws `invalid_argument` when it is not JSON-serialisable. */
export function encodeEnvelope(event: EventEnvelope): Uint8Array {
  let json: string | undefined;
  try {
    json = JSON.stringify(event);
  } catch (e) {
    throw invalidEvent([{ field: 'data', message: `not JSON-serialisable: ${(e as Error).message}` }]);
  }
  if (json === undefined) throw invalidEvent([{ field: '', message: 'not JSON-serialisable' }]);
  return encoder.encode(json);
}

/**
 * Decodes and validates a consumed body. A body that is not UTF-8 JSON, or an
 * envelope that fails validation, gives `ok: false` with the violations:
 * the bus dead-letters it (`MESSAGING_INVALID_MESSAGE`) instead of retrying.
 */
export function decodeEnvelope(body: Uint8Array, registry: EventRegistry | undefined): EnvelopeCheck {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch (e) {
    return {
      ok: false,
      reason: MessagingReasons.INVALID_MESSAGE,
      violations: [{ field: '', message: `body is not UTF-8 JSON: ${(e as Error).message}` }],
    };
  }
  return checkEnvelope(value, registry);
}
