import { SluiceError } from '@sluice/errors';
import { constant, exponential } from '@sluice/resilience';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideRetry, errorMessage } from './retry-decision.js';

describe('decideRetry', () => {
  it('dead-letters a non-retryable SluiceError at once with its own reason', () => {
    const e = new SluiceError({
      code: 'failed_precondition',
      reason: 'PAYMENT_DECLINED',
      message: 'declined',
    });
    expect(decideRetry(e, 1, 5, constant(10))).toEqual({
      action: 'deadLetter',
      failure: { error: 'declined', reason: 'PAYMENT_DECLINED' },
    });
  });

  it('retries retryable SluiceErrors and plain errors with the backoff delay of the attempt', () => {
    const backoff = exponential({ baseMs: 100, maxMs: 1_000, jitter: 'none' });
    const unavailable = new SluiceError({ code: 'unavailable', reason: 'X_DOWN' });
    expect(decideRetry(unavailable, 1, 5, backoff)).toEqual({ action: 'retry', delayMs: 100 });
    expect(decideRetry(new Error('boom'), 3, 5, backoff)).toEqual({ action: 'retry', delayMs: 400 });
    expect(decideRetry('a string', 4, 5, backoff)).toEqual({ action: 'retry', delayMs: 800 });
  });

  it('dead-letters with MESSAGING_MAX_ATTEMPTS on the last attempt', () => {
    const d = decideRetry(new Error('boom'), 5, 5, constant(10));
    expect(d.action).toBe('deadLetter');
    if (d.action === 'deadLetter') {
      expect(d.failure.reason).toBe('MESSAGING_MAX_ATTEMPTS');
      expect(d.failure.error).toContain('boom');
    }
  });

  it('always decides, for any thrown value and attempt, with a finite non-negative delay', () => {
    fc.assert(
      fc.property(
        fc.anything(),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 100 }),
        (thrown, attempt, max) => {
          const d = decideRetry(thrown, attempt, max, exponential({ baseMs: 10, maxMs: 1_000 }));
          if (d.action === 'retry') {
            expect(attempt).toBeLessThan(max);
            expect(Number.isFinite(d.delayMs) && d.delayMs >= 0).toBe(true);
          } else expect(typeof d.failure.error).toBe('string');
          expect(typeof errorMessage(thrown)).toBe('string');
        },
      ),
    );
  });
});
