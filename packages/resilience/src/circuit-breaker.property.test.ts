import { SluiceError } from '@sluice/errors';
import { createVirtualClock } from '@sluice/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BreakerStrategy, consecutive, countWindow, timeWindow } from './breaker-strategy.js';
import { type CircuitState, circuitBreaker } from './circuit-breaker.js';
import { CircuitOpenError } from './errors.js';

// Model-based tests: random sequences of calls (succeeding or failing) and
// clock moves are run against a breaker and against a deliberately naive
// model of its state machine (plain arrays, no ring buffers or buckets
// reused); after every step the two must agree on the call's fate and the
// state, and the metrics must add up.

type Step =
  | { readonly kind: 'call'; readonly fail: boolean }
  | { readonly kind: 'advance'; readonly ms: number };

const steps = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.boolean().map((fail) => ({ kind: 'call', fail }) as Step) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 0, max: 3_000 }).map((ms) => ({ kind: 'advance', ms }) as Step),
    },
  ),
  { maxLength: 120 },
);

/** Decides, from the outcomes seen while closed, whether to open. */
interface ClosedModel {
  record(fail: boolean, now: number): boolean;
  reset(): void;
}

function consecutiveModel(threshold: number): ClosedModel {
  let run = 0;
  return {
    record(fail) {
      run = fail ? run + 1 : 0;
      return run >= threshold;
    },
    reset() {
      run = 0;
    },
  };
}

function countWindowModel(size: number, rate: number, minimumCalls: number): ClosedModel {
  let outcomes: boolean[] = [];
  return {
    record(fail) {
      outcomes = [...outcomes, fail].slice(-size);
      const failures = outcomes.filter(Boolean).length;
      return outcomes.length >= minimumCalls && failures / outcomes.length >= rate;
    },
    reset() {
      outcomes = [];
    },
  };
}

function timeWindowModel(windowMs: number, buckets: number, rate: number, minimum: number): ClosedModel {
  const bucketMs = windowMs / buckets;
  let events: { bucket: number; fail: boolean }[] = [];
  return {
    record(fail, now) {
      const current = Math.floor(now / bucketMs);
      events.push({ bucket: current, fail });
      events = events.filter((e) => e.bucket > current - buckets);
      const failures = events.filter((e) => e.fail).length;
      return events.length >= minimum && failures / events.length >= rate;
    },
    reset() {
      events = [];
    },
  };
}

const down = () => {
  throw new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN' });
};

async function check(
  strategy: BreakerStrategy,
  closed: ClosedModel,
  plan: readonly Step[],
  successThreshold: number,
) {
  const clock = createVirtualClock();
  const breakMs = 1_000;
  const breaker = circuitBreaker({
    strategy,
    breakDurationMs: breakMs,
    halfOpen: { successThreshold },
    clock,
  });
  const model: { state: CircuitState } = { state: 'closed' };
  let openUntil = 0;
  let probeSuccesses = 0;
  let rejections = 0;
  let opens = 0;
  const open = () => {
    model.state = 'open';
    openUntil = clock.now() + breakMs;
    opens++;
  };
  for (const step of plan) {
    if (step.kind === 'advance') {
      await clock.advance(step.ms);
    } else {
      const now = clock.now();
      if (model.state === 'open' && now >= openUntil) {
        model.state = 'half-open';
        probeSuccesses = 0;
      }
      let expected: 'ok' | 'fail' | 'rejected';
      if (model.state === 'open') {
        expected = 'rejected';
        rejections++;
      } else {
        expected = step.fail ? 'fail' : 'ok';
        if (model.state === 'half-open') {
          if (step.fail) open();
          else if (++probeSuccesses >= successThreshold) {
            model.state = 'closed';
            closed.reset();
          }
        } else if (closed.record(step.fail, now)) {
          open();
        }
      }
      let ran = false;
      const actual = await breaker
        .execute(() => {
          ran = true;
          return step.fail ? down() : 'up';
        })
        .then(
          () => 'ok',
          (e: unknown) => (e instanceof CircuitOpenError ? 'rejected' : 'fail'),
        );
      expect(actual).toBe(expected);
      expect(ran).toBe(expected !== 'rejected');
    }
    const modelState = model.state === 'open' && clock.now() >= openUntil ? 'half-open' : model.state;
    expect(breaker.state).toBe(modelState);
    const m = breaker.metrics();
    expect(m.calls).toBe(m.successes + m.failures);
    expect(m.rejections).toBe(rejections);
    expect(m.opens).toBe(opens);
    expect(m.probesInFlight).toBe(0);
  }
}

describe('circuit breaker state machine (property-based)', () => {
  it('consecutive(n) agrees with the model on every step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), steps, (n, st, plan) =>
        check(consecutive(n), consecutiveModel(n), plan, st),
      ),
      { numRuns: 300 },
    );
  });

  it('countWindow agrees with the model on every step', async () => {
    const config = fc
      .record({
        size: fc.integer({ min: 1, max: 12 }),
        rate: fc.integer({ min: 1, max: 10 }).map((n) => n / 10),
        st: fc.integer({ min: 1, max: 3 }),
      })
      .chain((c) => fc.record({ c: fc.constant(c), minimumCalls: fc.integer({ min: 1, max: c.size }) }));
    await fc.assert(
      fc.asyncProperty(config, steps, ({ c, minimumCalls }, plan) =>
        check(
          countWindow({ size: c.size, failureRateThreshold: c.rate, minimumCalls }),
          countWindowModel(c.size, c.rate, minimumCalls),
          plan,
          c.st,
        ),
      ),
      { numRuns: 300 },
    );
  });

  it('timeWindow agrees with the model on every step', async () => {
    const config = fc.record({
      windowMs: fc.integer({ min: 100, max: 5_000 }),
      buckets: fc.integer({ min: 1, max: 10 }),
      rate: fc.integer({ min: 1, max: 10 }).map((n) => n / 10),
      minimum: fc.integer({ min: 1, max: 10 }),
      st: fc.integer({ min: 1, max: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(config, steps, (c, plan) =>
        check(
          timeWindow({
            windowMs: c.windowMs,
            buckets: c.buckets,
            failureRateThreshold: c.rate,
            minimumThroughput: c.minimum,
          }),
          timeWindowModel(c.windowMs, c.buckets, c.rate, c.minimum),
          plan,
          c.st,
        ),
      ),
      { numRuns: 300 },
    );
  });

  it('half-open runs at most maxProbes concurrent probes; any failure re-opens, enough successes close', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
        async (maxProbes, successThreshold, outcomes) => {
          const clock = createVirtualClock();
          const breaker = circuitBreaker({
            strategy: consecutive(1),
            breakDurationMs: 100,
            halfOpen: { maxProbes, successThreshold },
            clock,
          });
          await breaker.execute(down).catch(() => {});
          await clock.advance(100);
          const settle: Array<(fail: boolean) => void> = [];
          const calls = outcomes.map(() =>
            breaker
              .execute(
                () =>
                  new Promise<string>((resolve, reject) => {
                    settle.push((fail) =>
                      fail ? reject(new SluiceError({ code: 'unavailable', reason: 'X' })) : resolve('ok'),
                    );
                  }),
              )
              .then(
                () => 'ok',
                (e: unknown) => (e instanceof CircuitOpenError ? 'rejected' : 'fail'),
              ),
          );
          const admitted = Math.min(maxProbes, outcomes.length);
          expect(settle).toHaveLength(admitted);
          expect(breaker.metrics().probesInFlight).toBe(admitted);
          // Settle the probes in order with the generated outcomes.
          let expected = 'half-open' as CircuitState;
          let successes = 0;
          for (let i = 0; i < admitted; i++) {
            const fail = outcomes[i] as boolean;
            (settle[i] as (fail: boolean) => void)(fail);
            await clock.advance(0);
            if (expected === 'half-open') {
              if (fail) expected = 'open';
              else if (++successes >= successThreshold) expected = 'closed';
            }
            expect(breaker.state).toBe(expected);
          }
          const results = await Promise.all(calls);
          expect(results.filter((r) => r === 'rejected')).toHaveLength(outcomes.length - admitted);
          expect(breaker.metrics().probesInFlight).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
