import { Deadline } from '@sluice/resilience';
import { createVirtualClock } from '@sluice/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDeadlineHeader, MAX_DEADLINE_HEADER_MS, parseDeadlineHeader } from './deadline-header.js';

describe('deadline header', () => {
  it('formats what is left of a deadline minus the overhead, in whole ms, never negative', async () => {
    const clock = createVirtualClock();
    const deadline = Deadline.after(1_000, clock);
    expect(formatDeadlineHeader(deadline)).toBe('1000');
    expect(formatDeadlineHeader(deadline, 5)).toBe('995');
    await clock.advance(999.5);
    expect(formatDeadlineHeader(deadline)).toBe('0');
    await clock.advance(10);
    expect(formatDeadlineHeader(deadline, 5)).toBe('0');
  });

  it('round-trips every budget it can format', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DEADLINE_HEADER_MS }), (ms) => {
        const clock = createVirtualClock();
        expect(parseDeadlineHeader(formatDeadlineHeader(Deadline.after(ms, clock)))).toBe(ms);
      }),
    );
  });

  it('rejects anything but 1–10 digits up to 2^31−1 with a field violation, and never throws anything else', () => {
    expect(parseDeadlineHeader(undefined)).toBeUndefined();
    expect(parseDeadlineHeader(' 250 ')).toBe(250);
    for (const bad of ['', '-1', '1.5', '1e3', '10S', '2147483648', '99999999999', 'abc']) {
      expect(() => parseDeadlineHeader(bad)).toThrow(
        expect.objectContaining({ reason: 'HTTP_INVALID_DEADLINE' }),
      );
    }
    expect(() => parseDeadlineHeader(['1', '2'])).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          const ms = parseDeadlineHeader(s);
          expect(Number.isInteger(ms)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(0);
        } catch (error) {
          expect(error).toMatchObject({ code: 'invalid_argument', reason: 'HTTP_INVALID_DEADLINE' });
        }
      }),
    );
  });
});
