import { messagingError } from './message-validation.js';
import { MessagingReasons } from './reasons.js';

/**
 * Table and schema names the outbox and inbox accept: an SQL identifier of
 * 1–63 letters, digits and `_`, not starting with a digit (PostgreSQL's
 * identifier limit). They are always double-quoted in SQL, so case is kept.
 */
export const SQL_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Returns `name` double-quoted, or throws `invalid_argument` naming `field`. @internal */
export function quoteName(field: string, name: unknown): string {
  if (typeof name !== 'string' || !SQL_NAME_PATTERN.test(name))
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      `invalid ${field} ${JSON.stringify(name)}: 1-63 of [A-Za-z0-9_], not starting with a digit`,
      [{ field, message: 'must match ^[A-Za-z_][A-Za-z0-9_]{0,62}$' }],
    );
  return `"${name}"`;
}
