import { SluiceError } from '@sluice/errors';
import { constant } from '@sluice/resilience';
import { createVirtualClock } from '@sluice/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineSaga, type SagaSteps, sagaSteps } from './define-saga.js';
import { createOrchestrator, type Orchestrator } from './orchestrator.js';
import { openFixture, STORE_KINDS, type StoreFixture } from './stores.test-support.js';

/** How one step behaves in a generated scenario. */
interface StepPlan {
  readonly critical: boolean;
  /** Transient failures before success (retried; 3 or more exhaust the 3 attempts). */
  readonly transient: number;
  /** Fails for good (before any effect). */
  readonly permanent: boolean;
  /** Compensation failures before success (2 or more exhaust the 2 attempts: parked). */
  readonly compensationFailures: number;
}

interface Plan {
  readonly steps: readonly StepPlan[];
  /** Service calls (execute or compensate) at which the orchestrator dies, and where: before or after the effect. */
  readonly crashes: readonly { readonly call: number; readonly afterEffect: boolean }[];
}

const stepPlan = fc.record({
  critical: fc.boolean(),
  transient: fc.nat({ max: 3 }),
  permanent: fc.boolean(),
  compensationFailures: fc.nat({ max: 2 }),
});
const plan = fc.record({
  steps: fc.array(stepPlan, { minLength: 1, maxLength: 4 }),
  crashes: fc.uniqueArray(fc.record({ call: fc.nat({ max: 6 }), afterEffect: fc.boolean() }), {
    maxLength: 3,
    selector: (c) => c.call,
  }),
});

const LEASE_MS = 1_000;

/**
 * Runs one generated saga to its end, crashing (abandoning) the orchestrator
 * at the planned service calls and starting a fresh one, as a restarted
 * process would; a parked saga is retried once after its compensations are fixed.
 */
async function runPlan(fx: StoreFixture, p: Plan, sagaId: string) {
  const clock = createVirtualClock({ start: Date.UTC(2026, 0, 1) });
  const effects = new Map<string, number>(); // key -> times effected (a deduplicating service)
  const effectCalls = new Map<string, number>(); // key -> times the effect was requested
  let calls = 0;
  let crashed = false;
  const crashedAfterEffect = new Map<string, number>(); // key -> crashes after its effect
  let compensationsFixed = false;
  const remainingTransient = p.steps.map((s) => s.transient);
  const remainingCompFailures = p.steps.map((s) => s.compensationFailures);

  const service = async (key: string) => {
    const n = calls++;
    const crash = p.crashes.find((c) => c.call === n);
    if (crash && !crash.afterEffect) {
      crashed = true;
      return new Promise<never>(() => {});
    }
    effectCalls.set(key, (effectCalls.get(key) ?? 0) + 1);
    if (!effects.has(key)) effects.set(key, 1);
    if (crash) {
      crashed = true;
      crashedAfterEffect.set(key, (crashedAfterEffect.get(key) ?? 0) + 1);
      return new Promise<never>(() => {});
    }
    return key;
  };

  let steps: SagaSteps<object, {}> = sagaSteps<object>();
  p.steps.forEach((s, i) => {
    steps = steps.step(`s${i}`, {
      critical: s.critical,
      retry: { maxAttempts: 3, backoff: constant(10) },
      execute: async ({ idempotencyKey }) => {
        if (s.permanent)
          throw new SluiceError({ code: 'failed_precondition', reason: 'TEST_NO', message: 'no' });
        if ((remainingTransient[i] as number) > 0) {
          remainingTransient[i] = (remainingTransient[i] as number) - 1;
          throw new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN', message: 'down' });
        }
        return service(idempotencyKey);
      },
      compensation: { retry: { maxAttempts: 2, backoff: constant(10) } },
      compensate: async ({ compensationKey }) => {
        if (!compensationsFixed && (remainingCompFailures[i] as number) > 0) {
          remainingCompFailures[i] = (remainingCompFailures[i] as number) - 1;
          throw new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN', message: 'down' });
        }
        await service(compensationKey);
      },
    }) as SagaSteps<object, {}>;
  });
  const saga = defineSaga({ name: 'prop', steps });
  const make = () =>
    createOrchestrator({ store: fx.store, sagas: [saga], clock, leaseMs: LEASE_MS, pollMs: 50 });
  let o: Orchestrator = make();
  o.run();
  await o.start(saga, {}, { sagaId });
  let retried = false;
  let crashes = 0;
  const tick = () => new Promise((r) => (fx.kind === 'sqlite' ? setImmediate(r) : setTimeout(r, 1)));
  for (let i = 0; i < 4_000; i++) {
    if (crashed) {
      crashed = false;
      crashes++;
      await o.close({ releaseLeases: false });
      o = make();
      o.run();
      await clock.advance(LEASE_MS + 100);
    }
    const record = await fx.store.get(sagaId);
    if (record?.state === 'needs_attention' && !retried) {
      retried = true;
      compensationsFixed = true;
      await o.retry(sagaId);
    } else if (record && !['running', 'compensating'].includes(record.state)) {
      break;
    }
    await clock.advance(20);
    await tick();
  }
  const details = await o.inspect(sagaId);
  await o.close();
  return { details, effects, effectCalls, crashedAfterEffect, crashes, retried };
}

describe.each(STORE_KINDS)('saga invariants under random failures and crashes (%s)', (kind) => {
  let fx: StoreFixture;
  beforeAll(async () => {
    fx = await openFixture(kind);
  });
  afterAll(async () => {
    await fx.dispose();
  });

  it('every saga ends; completed ⇒ critical steps effected once; failed ⇒ completed steps compensated once', async () => {
    let n = 0;
    const seen = { completed: 0, failed: 0, crashes: 0, retried: 0 };
    await fc.assert(
      fc.asyncProperty(plan, async (p) => {
        const sagaId = `p-${n++}`;
        const { details, effects, effectCalls, crashedAfterEffect, crashes, retried } = await runPlan(
          fx,
          p,
          sagaId,
        );
        const { saga, steps } = details;
        seen[saga.state as 'completed' | 'failed']++;
        seen.crashes += crashes;
        if (retried) seen.retried++;
        // Terminates: a parked saga was retried once with working compensations, so it ends too.
        expect(['completed', 'failed']).toContain(saga.state);
        expect(crashes).toBeLessThanOrEqual(p.crashes.length);
        for (const [, times] of effects) expect(times).toBe(1);
        const byName = new Map(steps.map((s) => [s.step, s]));
        p.steps.forEach((s, i) => {
          const name = `s${i}`;
          const key = `${sagaId}:${name}`;
          const row = byName.get(name);
          if (saga.state === 'completed') {
            if (s.critical) {
              expect(row?.status).toBe('completed');
              expect(effects.get(key)).toBe(1);
            }
            expect(effects.has(`${key}:compensate`)).toBe(false);
          } else if (row?.status === 'completed' || row?.status === 'compensated') {
            // failed: every step that completed was compensated, exactly once
            expect(row.status).toBe('compensated');
            expect(effects.get(`${key}:compensate`)).toBe(1);
          } else {
            expect(effects.has(`${key}:compensate`)).toBe(false);
          }
          // A step that failed for good never had an effect.
          if (s.permanent) expect(effects.has(key)).toBe(false);
        });
        // A checkpointed step or compensation never ran again: an effect was requested once, plus
        // once more for each crash between that effect and its checkpoint.
        for (const [key, requested] of effectCalls) {
          expect(requested, key).toBe(1 + (crashedAfterEffect.get(key) ?? 0));
        }
      }),
      {
        numRuns: kind === 'sqlite' ? 100 : 30,
        endOnFailure: true,
        // Always among the runs: a saga that crashes, parks and is retried; one that crashes and completes.
        examples: [
          [
            {
              steps: [
                { critical: true, transient: 0, permanent: false, compensationFailures: 2 },
                { critical: true, transient: 1, permanent: true, compensationFailures: 0 },
              ],
              crashes: [{ call: 0, afterEffect: true }],
            },
          ],
          [
            {
              steps: [
                { critical: true, transient: 1, permanent: false, compensationFailures: 0 },
                { critical: false, transient: 0, permanent: true, compensationFailures: 0 },
                { critical: true, transient: 0, permanent: false, compensationFailures: 0 },
              ],
              crashes: [{ call: 1, afterEffect: false }],
            },
          ],
        ],
      },
    );
    // The generator reaches every outcome (the property is not vacuous).
    expect(seen.completed).toBeGreaterThan(0);
    expect(seen.failed).toBeGreaterThan(0);
    expect(seen.crashes).toBeGreaterThan(0);
    expect(seen.retried).toBeGreaterThan(0);
  }, 240_000);
});
