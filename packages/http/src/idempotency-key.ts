import { SluiceError } from '@sluice/errors';
import { HttpHeaders } from './headers.js';
import { HttpReasons } from './reasons.js';

/** Longest idempotency key accepted, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

// Printable ASCII without the double quote and backslash: what a
// structured-field string may hold unescaped, minus the escapes we refuse.
const KEY_CHARS = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

function invalid(message: string): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: HttpReasons.IDEMPOTENCY_KEY_INVALID,
    message,
    details: { violations: [{ field: `headers.${HttpHeaders.idempotencyKey}`, message }] },
  });
}

/**
 * Parses an `Idempotency-Key` header value. The IETF draft makes it a
 * structured-field string (`"8e03978e-…"`); a bare token (`8e03978e-…`) is
 * accepted too, since many clients send one. The key is 1–255 printable
 * ASCII characters without `"` or `\`.
 *
 * @throws SluiceError `invalid_argument` / `HTTP_IDEMPOTENCY_KEY_INVALID` otherwise.
 */
export function parseIdempotencyKey(value: string | string[]): string {
  if (Array.isArray(value)) {
    if (value.length !== 1) throw invalid('send exactly one Idempotency-Key header');
    return parseIdempotencyKey(value[0] as string);
  }
  let key = value.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
  if (key.length === 0) throw invalid('Idempotency-Key must not be empty');
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH)
    throw invalid(`Idempotency-Key must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  if (!KEY_CHARS.test(key))
    throw invalid('Idempotency-Key must be printable ASCII without quotes or backslashes');
  return key;
}

/** Formats a key as the structured-field string the draft specifies (`"key"`). */
export function formatIdempotencyKey(key: string): string {
  return `"${parseIdempotencyKey(key)}"`;
}
