import { messagingError } from './message-validation.js';
import { MessagingReasons } from './reasons.js';
import type { DeadLetterFilter } from './transport.js';

/**
 * Checks a DLQ filter (`list` / `count` / `replay` / `purge`) before any
 * transport touches its store: `invalid_argument` / `MESSAGING_INVALID_MESSAGE`
 * naming the bad field. Shared by every transport's `DeadLetterStore`.
 */
export function assertDeadLetterFilter(filter: DeadLetterFilter & { limit?: number; offset?: number }): void {
  const bad = (field: string, message: string) =>
    messagingError('invalid_argument', MessagingReasons.INVALID_MESSAGE, `DLQ filter: ${field} ${message}`, [
      { field, message },
    ]);
  if (typeof filter !== 'object' || filter === null) throw bad('filter', 'must be an object');
  if (filter.topic !== undefined && typeof filter.topic !== 'string') throw bad('topic', 'must be a string');
  if (filter.group !== undefined && typeof filter.group !== 'string') throw bad('group', 'must be a string');
  if (
    filter.ids !== undefined &&
    (!Array.isArray(filter.ids) || filter.ids.some((i) => typeof i !== 'string'))
  )
    throw bad('ids', 'must be an array of strings');
  if (filter.ids !== undefined && filter.ids.length > 10_000) throw bad('ids', 'at most 10 000');
  if (
    filter.limit !== undefined &&
    !(Number.isInteger(filter.limit) && filter.limit >= 1 && filter.limit <= 10_000)
  )
    throw bad('limit', 'must be an integer from 1 to 10 000');
  if (filter.offset !== undefined && !(Number.isInteger(filter.offset) && filter.offset >= 0))
    throw bad('offset', 'must be an integer >= 0');
}
