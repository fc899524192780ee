import { SluiceError } from '@sluice/errors';
import { createVirtualClock } from '@sluice/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constant } from './backoff.js';
import { retry } from './retry.js';
import { retryBudget } from './retry-budget.js';

describe('retryBudget (property-based)', () => {
  it('whatever the traffic, retries never exceed ratio × calls + the per-second floor', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }).map((n) => n / 10), // ratio 0.1 … 0.5
        fc.integer({ min: 0, max: 5 }), // floor per second
        fc.array(
          fc.record({
            calls: fc.integer({ min: 0, max: 20 }),
            advanceMs: fc.integer({ min: 0, max: 2_000 }),
          }),
          {
            maxLength: 20,
          },
        ),
        async (ratio, floor, plan) => {
          const clock = createVirtualClock();
          const budget = retryBudget({ ratio, minRetriesPerSecond: floor, maxTokens: 1_000, clock });
          const policy = retry({ maxAttempts: 4, backoff: constant(0), budget, clock });
          let calls = 0;
          let attempts = 0;
          const down = () => {
            attempts++;
            throw new SluiceError({ code: 'unavailable', reason: 'X' });
          };
          for (const step of plan) {
            for (let i = 0; i < step.calls; i++) {
              calls++;
              await policy.execute(down).catch(() => {});
            }
            await clock.advance(step.advanceMs);
          }
          const retries = attempts - calls;
          const seconds = clock.now() / 1_000;
          // Deposits: ratio per call. Floor: one second's worth at the start, then `floor` per second.
          expect(retries).toBeLessThanOrEqual(ratio * calls + floor * (1 + seconds) + 1e-9);
          expect(budget.metrics()).toMatchObject({ deposits: calls, withdrawals: retries });
        },
      ),
      { numRuns: 100 },
    );
  });
});
