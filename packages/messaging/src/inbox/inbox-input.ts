import { messagingError } from '../message-validation.js';
import { MessagingReasons } from '../reasons.js';

/** Default retention of handled marks: 7 days, far beyond any redelivery window (leases of seconds, retries of minutes, DLQ replays aside). */
export const DEFAULT_INBOX_RETENTION_MS = 7 * 24 * 3_600_000;
/** Handlers prune old marks at most this often, in ms (1 h). */
export const INBOX_PRUNE_EVERY_MS = 3_600_000;
/** Marks deleted per prune statement. */
export const INBOX_PRUNE_LIMIT = 10_000;

/** Throws `invalid_argument` unless `consumer` and `eventId` are usable keys. @internal */
export function assertInboxKey(consumer: unknown, eventId: unknown): void {
  const violations = [];
  if (typeof consumer !== 'string' || consumer.length === 0 || consumer.length > 200)
    violations.push({ field: 'consumer', message: 'must be a string of 1-200 characters' });
  if (typeof eventId !== 'string' || eventId.length === 0 || eventId.length > 256)
    violations.push({ field: 'eventId', message: 'must be a string of 1-256 characters' });
  if (violations.length > 0)
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      `invalid inbox key: ${violations.map((v) => `${v.field}: ${v.message}`).join('; ')}`,
      violations,
    );
}

/** Throws `invalid_argument` unless `retentionMs` is a positive integer. @internal */
export function retentionOf(value: unknown): number {
  const v = value ?? DEFAULT_INBOX_RETENTION_MS;
  if (!(Number.isInteger(v) && (v as number) >= 1))
    throw messagingError(
      'invalid_argument',
      MessagingReasons.INVALID_MESSAGE,
      'retentionMs must be an integer >= 1',
      [{ field: 'retentionMs', message: 'must be an integer >= 1' }],
    );
  return v as number;
}
