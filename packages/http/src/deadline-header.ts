import { SluiceError } from '@sluice/errors';
import type { Deadline } from '@sluice/resilience';
import { HttpHeaders } from './headers.js';
import { HttpReasons } from './reasons.js';

/** Largest value accepted in the deadline header: 2^31−1 ms (about 24.8 days), like a Node timer. */
export const MAX_DEADLINE_HEADER_MS = 2_147_483_647;

/**
 * The value of the `sluice-deadline-ms` header for `deadline`: what is left
 * of it, minus `overheadMs` kept back for the response's trip home, in whole
 * milliseconds (floored, never negative).
 *
 * @param overheadMs milliseconds the caller keeps for itself. Default 0.
 */
export function formatDeadlineHeader(deadline: Deadline, overheadMs = 0): string {
  const ms = Math.floor(deadline.remaining() - overheadMs);
  return String(Math.min(MAX_DEADLINE_HEADER_MS, Math.max(0, ms)));
}

const DIGITS = /^\d{1,10}$/;

/**
 * Parses a `sluice-deadline-ms` header: `undefined` when absent, the budget
 * in milliseconds otherwise (0 means "already expired").
 *
 * @throws SluiceError `invalid_argument` / `HTTP_INVALID_DEADLINE` (with a
 *   field violation on `headers.sluice-deadline-ms`) for anything but 1–10
 *   decimal digits up to {@link MAX_DEADLINE_HEADER_MS}, or a repeated header.
 */
export function parseDeadlineHeader(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
  const trimmed = text?.trim();
  if (trimmed !== undefined && DIGITS.test(trimmed)) {
    const ms = Number(trimmed);
    if (ms <= MAX_DEADLINE_HEADER_MS) return ms;
  }
  throw new SluiceError({
    code: 'invalid_argument',
    reason: HttpReasons.INVALID_DEADLINE,
    message: `${HttpHeaders.deadline} must be a whole number of milliseconds (0–${MAX_DEADLINE_HEADER_MS})`,
    details: {
      violations: [
        { field: `headers.${HttpHeaders.deadline}`, message: 'must be an integer number of milliseconds' },
      ],
    },
  });
}
