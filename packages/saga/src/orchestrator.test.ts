import { createEventRegistry } from '@sluice/contracts';
import { SluiceError } from '@sluice/errors';
import { constant } from '@sluice/resilience';
import { createVirtualClock, type VirtualClock } from '@sluice/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineSaga, type SagaDefinition, sagaSteps } from './define-saga.js';
import { outboxTableSink, type SagaEnvelope, type SagaEventSink } from './event-sink.js';
import { sagaEvents } from './lifecycle-events.js';
import { createOrchestrator, type Orchestrator } from './orchestrator.js';
import type { SagaRecord } from './saga-record.js';
import { openFixture, STORE_KINDS, type StoreFixture } from './stores.test-support.js';

const unavailable = (message = 'down') =>
  new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN', message });
const declined = () =>
  new SluiceError({ code: 'failed_precondition', reason: 'TEST_DECLINED', message: 'declined' });

/** A remote service double: applies each idempotency key's effect once, counts calls. */
class Service {
  readonly effects = new Map<string, number>();
  readonly calls: string[] = [];
  apply(key: string): string {
    this.calls.push(key);
    this.effects.set(key, (this.effects.get(key) ?? 0) + (this.effects.has(key) ? 0 : 1));
    return key;
  }
}

/** Advances virtual time (letting real I/O run between steps) until `done()` holds; bounded. */
async function until(
  clock: VirtualClock,
  done: () => boolean | Promise<boolean>,
  stepMs = 10,
): Promise<void> {
  for (let i = 0; i < 3_000; i++) {
    if (await done()) return;
    await clock.advance(stepMs);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error('condition not reached');
}

/** Advances virtual time until the saga is final or parked. */
async function settle(clock: VirtualClock, o: Orchestrator, sagaId: string): Promise<SagaRecord> {
  for (let i = 0; i < 2_000; i++) {
    const r = (await o.inspect(sagaId)).saga;
    if (!['running', 'compensating'].includes(r.state)) return r;
    await clock.advance(50);
  }
  throw new Error(`saga ${sagaId} did not settle`);
}

describe.each(STORE_KINDS)('orchestrator on %s', (kind) => {
  let fx: StoreFixture;
  let clock: VirtualClock;
  let service: Service;
  const orchestrators: Orchestrator[] = [];
  const orchestrator = (opts: Partial<Parameters<typeof createOrchestrator>[0]> = {}) => {
    const o = createOrchestrator({ store: fx.store, sagas, clock, leaseMs: 3_000, pollMs: 200, ...opts });
    orchestrators.push(o);
    return o;
  };
  let sagas: SagaDefinition<{ amount: number }, unknown>[];
  let failCharge: 'never' | 'transient' | 'permanent' | 'hang';
  let failRefund: number;
  let transient: number;

  const order = () =>
    defineSaga({
      name: 'order',
      steps: sagaSteps<{ amount: number }>()
        .step('reserve', {
          execute: ({ idempotencyKey }) => ({ reservationId: service.apply(idempotencyKey) }),
          compensate: ({ compensationKey, output }) => {
            expect(output.reservationId).toMatch(/:reserve$/);
            service.apply(compensationKey);
          },
        })
        .step('charge', {
          retry: { maxAttempts: 3, backoff: constant(100) },
          timeoutMs: 1_000,
          execute: ({ idempotencyKey, input, results }) => {
            expect(results.reserve.reservationId).toBeTypeOf('string');
            if (failCharge === 'permanent') throw declined();
            if (failCharge === 'transient' && transient-- > 0) throw unavailable();
            if (failCharge === 'hang') return new Promise<never>(() => {});
            return { paymentId: service.apply(idempotencyKey), amount: input.amount };
          },
          compensation: { retry: { maxAttempts: 3, backoff: constant(100) } },
          compensate: ({ compensationKey }) => {
            if (failRefund-- > 0) throw unavailable('refunds down');
            service.apply(compensationKey);
          },
        })
        .step('notify', {
          critical: false,
          retry: { maxAttempts: 1 },
          execute: ({ results }) => {
            if (results.charge.amount > 100) throw unavailable('mail down');
            return 'sent';
          },
        })
        .step('confirm', {
          execute: ({ idempotencyKey, results }) => {
            expect(results.notify === undefined || results.notify === 'sent').toBe(true);
            return service.apply(idempotencyKey);
          },
        }),
    });

  beforeEach(async () => {
    fx = await openFixture(kind);
    clock = createVirtualClock({ start: Date.UTC(2026, 0, 1) });
    service = new Service();
    failCharge = 'never';
    failRefund = 0;
    transient = 0;
    sagas = [order()];
  });

  afterEach(async () => {
    for (const o of orchestrators.splice(0)) await o.close();
    await fx.dispose();
  });

  it('runs every step in order, checkpoints each, completes, and publishes the lifecycle events in the same store', async () => {
    const o = orchestrator();
    const seen: SagaEnvelope[] = [];
    o.onEvent((e) => seen.push(e));
    o.run();
    const started = await o.start(sagas[0]!, { amount: 50 }, { sagaId: 'o-1' });
    expect(started).toEqual({ sagaId: 'o-1', created: true, state: 'running' });
    const done = await o.wait('o-1');
    expect(done.state).toBe('completed');
    expect(service.calls).toEqual(['o-1:reserve', 'o-1:charge', 'o-1:confirm']);
    const details = await o.inspect('o-1');
    expect(details.steps.map((s) => [s.step, s.status, s.attempts])).toEqual([
      ['reserve', 'completed', 1],
      ['charge', 'completed', 1],
      ['notify', 'completed', 1],
      ['confirm', 'completed', 1],
    ]);
    expect(details.steps[1]?.output).toEqual({ paymentId: 'o-1:charge', amount: 50 });
    const types = seen.map((e) => e.type);
    expect(types).toEqual([
      'saga.started',
      'saga.step_completed',
      'saga.step_completed',
      'saga.step_completed',
      'saga.step_completed',
      'saga.completed',
    ]);
    const registry = createEventRegistry(sagaEvents);
    for (const e of seen) {
      registry.assertValid(e);
      expect(e.correlationid).toBe('o-1');
      expect(e.subject).toBe('o-1');
    }
    const rows = await fx.query(
      'SELECT id, topic, key, envelope, sent_at FROM sluice_saga_outbox ORDER BY created_at, id',
    );
    expect(rows.map((r) => r.id).sort()).toEqual(seen.map((e) => e.id).sort());
    for (const r of rows) {
      expect(r.key).toBe('o-1');
      expect(r.sent_at).toBeNull();
      const env = typeof r.envelope === 'string' ? JSON.parse(r.envelope) : r.envelope;
      expect(env.type).toBe(r.topic);
    }
  });

  it('starts one saga for one saga id, however often it is started', async () => {
    const o = orchestrator();
    o.run();
    const results = await Promise.all(
      [1, 2, 3].map(() => o.start(sagas[0]!, { amount: 5 }, { sagaId: 'dup' })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    await o.wait('dup');
    const again = await o.start(sagas[0]!, { amount: 5 }, { sagaId: 'dup' });
    expect(again).toEqual({ sagaId: 'dup', created: false, state: 'completed' });
    expect(service.calls.filter((c) => c === 'dup:reserve')).toHaveLength(1);
    const rows = await fx.query("SELECT id FROM sluice_saga_outbox WHERE topic = 'saga.started'");
    expect(rows).toHaveLength(1);
  });

  it('retries a transient step failure with backoff and records each failed attempt', async () => {
    failCharge = 'transient';
    transient = 2;
    const o = orchestrator();
    o.run();
    await o.start(sagas[0]!, { amount: 5 }, { sagaId: 'retry-1' });
    expect((await settle(clock, o, 'retry-1')).state).toBe('completed');
    const { steps, history } = await o.inspect('retry-1');
    expect(steps.find((s) => s.step === 'charge')?.attempts).toBe(3);
    const failures = history.filter((h) => h.event === 'attempt_failed');
    expect(failures.map((h) => [h.step, h.attempt, h.error?.reason])).toEqual([
      ['charge', 1, 'TEST_DOWN'],
      ['charge', 2, 'TEST_DOWN'],
    ]);
  });

  it('records a non-critical step failure and goes on', async () => {
    const o = orchestrator();
    o.run();
    await o.start(sagas[0]!, { amount: 500 }, { sagaId: 'nc-1' });
    expect((await settle(clock, o, 'nc-1')).state).toBe('completed');
    const notify = (await o.inspect('nc-1')).steps.find((s) => s.step === 'notify');
    expect(notify?.status).toBe('failed');
    expect(notify?.error?.reason).toBe('TEST_DOWN');
    expect(service.calls).toContain('nc-1:confirm');
  });

  it('compensates completed steps newest first when a critical step fails, then fails', async () => {
    failCharge = 'permanent';
    const o = orchestrator();
    const seen: string[] = [];
    o.onEvent((e) => seen.push(e.type));
    o.run();
    await o.start(sagas[0]!, { amount: 5 }, { sagaId: 'f-1' });
    const done = await settle(clock, o, 'f-1');
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ reason: 'TEST_DECLINED', step: 'charge' });
    expect(service.calls).toEqual(['f-1:reserve', 'f-1:reserve:compensate']);
    expect(seen).toEqual(['saga.started', 'saga.step_completed', 'saga.compensating', 'saga.failed']);
    const steps = (await o.inspect('f-1')).steps;
    expect(steps.map((s) => [s.step, s.status])).toEqual([
      ['reserve', 'compensated'],
      ['charge', 'failed'],
    ]);
  });

  it('times a hanging step out, retries it, then compensates', async () => {
    failCharge = 'hang';
    const o = orchestrator();
    o.run();
    await o.start(sagas[0]!, { amount: 5 }, { sagaId: 't-1' });
    const done = await settle(clock, o, 't-1');
    expect(done.state).toBe('failed');
    expect(done.error?.reason).toBe('RESILIENCE_TIMEOUT');
    expect((await o.inspect('t-1')).steps.find((s) => s.step === 'charge')?.attempts).toBe(3);
  });

  it('parks a saga whose compensation keeps failing, and lets an operator retry it', async () => {
    sagas = [
      defineSaga({
        name: 'order',
        steps: sagaSteps<{ amount: number }>()
          .step('charge', {
            execute: ({ idempotencyKey }) => service.apply(idempotencyKey),
            compensation: { retry: { maxAttempts: 2, backoff: constant(100) } },
            compensate: ({ compensationKey }) => {
              if (failRefund-- > 0) throw unavailable('refunds down');
              service.apply(compensationKey);
            },
          })
          .step('confirm', {
            execute: () => {
              throw declined();
            },
          }),
      }),
    ];
    failRefund = 2;
    const o = orchestrator();
    const seen: string[] = [];
    o.onEvent((e) => seen.push(e.type));
    o.run();
    await o.start(sagas[0]!, { amount: 5 }, { sagaId: 'p-1' });
    const parked = await settle(clock, o, 'p-1');
    expect(parked.state).toBe('needs_attention');
    expect(parked.error).toMatchObject({ reason: 'SAGA_COMPENSATION_FAILED', step: 'charge' });
    expect(parked.leaseOwner).toBeUndefined();
    expect(await o.list({ state: 'needs_attention' })).toHaveLength(1);
    // Parked sagas are not driven by recovery.
    await clock.advance(10_000);
    expect((await o.inspect('p-1')).saga.state).toBe('needs_attention');
    await expect(o.resolve('p-1', '')).rejects.toMatchObject({ code: 'invalid_argument' });
    await o.retry('p-1', 'refund service is back');
    expect((await settle(clock, o, 'p-1')).state).toBe('failed');
    expect(service.calls.filter((c) => c === 'p-1:charge:compensate')).toHaveLength(1);
    expect(seen).toContain('saga.needs_attention');
    const history = (await o.inspect('p-1')).history;
    expect(history.map((h) => h.event)).toEqual(
      expect.arrayContaining([
        'started',
        'compensating',
        'attempt_failed',
        'parked',
        'retried',
        'compensated',
        'failed',
      ]),
    );
    expect(history.find((h) => h.event === 'retried')?.note).toBe('refund service is back');
    await expect(o.retry('p-1')).rejects.toMatchObject({
      code: 'failed_precondition',
      reason: 'SAGA_INVALID_STATE',
    });
  });

  it('lets an operator mark a parked saga resolved', async () => {
    failCharge = 'permanent';
    sagas = [
      defineSaga({
        name: 'order',
        steps: sagaSteps<{ amount: number }>()
          .step('reserve', {
            execute: () => 'r',
            compensation: { retry: { maxAttempts: 1 } },
            compensate: () => {
              throw unavailable();
            },
          })
          .step('charge', {
            execute: () => {
              throw declined();
            },
          }),
      }),
    ];
    const o = orchestrator();
    o.run();
    await o.start(sagas[0]!, { amount: 5 }, { sagaId: 'r-1' });
    expect((await settle(clock, o, 'r-1')).state).toBe('needs_attention');
    await o.resolve('r-1', 'released the stock by hand');
    const r = (await o.inspect('r-1')).saga;
    expect(r.state).toBe('resolved');
    expect(r.finishedAt).toBeDefined();
    await expect(o.resolve('r-1', 'again')).rejects.toMatchObject({ code: 'failed_precondition' });
  });

  it('compensates a cancelled saga at its next step boundary', async () => {
    let release: (() => void) | undefined;
    sagas = [
      defineSaga({
        name: 'order',
        steps: sagaSteps<{ amount: number }>()
          .step('reserve', {
            execute: ({ idempotencyKey }) => service.apply(idempotencyKey),
            compensate: ({ compensationKey }) => void service.apply(compensationKey),
          })
          .step('charge', {
            execute: ({ idempotencyKey }) =>
              new Promise((resolve) => {
                release = () => resolve(service.apply(idempotencyKey));
              }),
            compensate: ({ compensationKey }) => void service.apply(compensationKey),
          })
          .step('confirm', { execute: ({ idempotencyKey }) => service.apply(idempotencyKey) }),
      }),
    ];
    const o = orchestrator();
    o.run();
    await o.start(sagas[0]!, { amount: 5 }, { sagaId: 'c-1' });
    await until(clock, () => release !== undefined); // charge is running
    await o.cancel('c-1');
    release?.();
    const done = await settle(clock, o, 'c-1');
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'cancelled', reason: 'SAGA_CANCELLED' });
    expect(service.calls).toEqual([
      'c-1:reserve',
      'c-1:charge',
      'c-1:charge:compensate',
      'c-1:reserve:compensate',
    ]);
    await expect(o.cancel('c-1')).rejects.toMatchObject({ code: 'failed_precondition' });
    await expect(o.cancel('nope')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('compensates when the saga deadline passes', async () => {
    failCharge = 'transient';
    transient = 100;
    const o = orchestrator();
    o.run();
    await o.start(sagas[0]!, { amount: 5 }, { sagaId: 'd-1', deadlineMs: 150 });
    const done = await settle(clock, o, 'd-1');
    expect(done.state).toBe('failed');
    expect([
      'SAGA_DEADLINE_EXCEEDED',
      'TEST_DOWN',
      'RESILIENCE_DEADLINE_EXCEEDED',
      'RESILIENCE_TIMEOUT',
    ]).toContain(done.error?.reason);
    expect(service.calls).toContain('d-1:reserve:compensate');
  });

  it('fails at once with SAGA_DEADLINE_EXCEEDED when the deadline passed between steps', async () => {
    const o = orchestrator();
    await o.start(sagas[0]!, { amount: 5 }, { sagaId: 'd-2', deadlineMs: 100 });
    await clock.advance(1_000);
    o.run();
    const done = await settle(clock, o, 'd-2');
    expect(done.state).toBe('failed');
    expect(done.error?.reason).toBe('SAGA_DEADLINE_EXCEEDED');
    expect(service.calls).toEqual([]);
  });

  it('leaves a started saga to a running orchestrator when this one does not run', async () => {
    const client = orchestrator();
    await client.start(sagas[0]!, { amount: 5 }, { sagaId: 'q-1' });
    expect((await client.inspect('q-1')).saga.leaseOwner).toBeUndefined();
    const worker = orchestrator();
    worker.run();
    expect((await settle(clock, worker, 'q-1')).state).toBe('completed');
  });

  it('takes over a dead orchestrator’s saga after its lease expires and never re-runs a checkpointed step', async () => {
    failCharge = 'hang';
    const a = orchestrator({ owner: 'a' });
    a.run();
    await a.start(sagas[0]!, { amount: 5 }, { sagaId: 'k-1' });
    await until(clock, async () => (await a.inspect('k-1')).steps.length === 1);
    await a.close({ releaseLeases: false }); // dies mid-charge, lease still held
    failCharge = 'never';
    const b = orchestrator({ owner: 'b' });
    b.run();
    await clock.advance(1_000);
    expect((await b.inspect('k-1')).saga.leaseOwner).toBe('a'); // not yet expired
    const done = await settle(clock, b, 'k-1');
    expect(done.state).toBe('completed');
    expect(service.calls.filter((c) => c === 'k-1:reserve')).toHaveLength(1);
    expect(service.effects.get('k-1:charge')).toBe(1);
  });

  it('keeps a lease alive by heartbeat while a long step runs', async () => {
    let finish: () => void = () => {};
    sagas = [
      defineSaga({
        name: 'order',
        steps: sagaSteps<{ amount: number }>().step('slow', {
          timeoutMs: 60_000,
          execute: () => new Promise<string>((resolve) => (finish = () => resolve('ok'))),
        }),
      }),
    ];
    const a = orchestrator({ owner: 'a' });
    a.run();
    await a.start(sagas[0]!, { amount: 5 }, { sagaId: 'h-1' });
    const b = orchestrator({ owner: 'b' });
    b.run();
    // 20 s, far beyond the 3 s lease. Virtual time must not outrun the database: after each
    // step, wait (bounded, in real time) for a due heartbeat's renewal to land.
    for (let i = 0; i < 80; i++) {
      await clock.advance(250);
      for (let j = 0; j < 2_000; j++) {
        const r = await fx.store.get('h-1');
        if ((r?.leaseExpiresAt ?? 0) - clock.now() >= 1_500) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    expect((await a.inspect('h-1')).saga.leaseOwner).toBe('a');
    finish();
    expect((await settle(clock, a, 'h-1')).state).toBe('completed');
  });

  it('refuses a transition from an orchestrator that lost its lease (fencing)', async () => {
    let finish: () => void = () => {};
    let started = false;
    sagas = [
      defineSaga({
        name: 'order',
        steps: sagaSteps<{ amount: number }>().step('slow', {
          timeoutMs: 60_000,
          execute: () => {
            started = true;
            return new Promise<string>((resolve) => (finish = () => resolve('late')));
          },
        }),
      }),
    ];
    const a = orchestrator({ owner: 'a' });
    a.run();
    await a.start(sagas[0]!, { amount: 5 }, { sagaId: 'x-1' });
    await until(clock, () => a.driving === 1 && finish.length === 0 && started);
    // Another orchestrator steals the saga (as after a long pause of `a`).
    await fx.query(
      fx.kind === 'sqlite'
        ? "UPDATE sluice_sagas SET lease_owner = 'b', version = version + 1 WHERE id = 'x-1'"
        : "UPDATE sluice_sagas SET lease_owner = 'b', version = version + 1 WHERE id = 'x-1'",
    );
    finish();
    await until(clock, () => a.driving === 0);
    const { saga, steps } = await a.inspect('x-1');
    expect(saga.state).toBe('running');
    expect(saga.leaseOwner).toBe('b');
    expect(steps).toEqual([]);
  });

  it('waits for a saga another orchestrator drives, and gives up after its timeout', async () => {
    const client = orchestrator();
    await client.start(sagas[0]!, { amount: 5 }, { sagaId: 'w-1' });
    const waiting = client.wait('w-1', { timeoutMs: 1_000 });
    const outcome = waiting.then(
      () => undefined,
      (error: unknown) => error,
    );
    await until(
      clock,
      async () => (await Promise.race([outcome, Promise.resolve('pending')])) !== 'pending',
      100,
    );
    expect(await outcome).toMatchObject({ code: 'deadline_exceeded', reason: 'SAGA_WAIT_TIMEOUT' });
    const worker = orchestrator();
    worker.run();
    const done = client.wait('w-1', { timeoutMs: 60_000 });
    await until(clock, async () => (await fx.store.get('w-1'))?.state === 'completed', 50);
    await clock.advance(1_000); // the client's next poll of the store
    expect((await done).state).toBe('completed');
  });

  it('names topics of the outbox rows as configured', async () => {
    const store = await fx.open(outboxTableSink({ topic: (e) => `dashboards.${e.type}` }));
    const o = orchestrator({ store });
    o.run();
    await o.start(sagas[0]!, { amount: 5 }, { sagaId: 'topic-1' });
    await o.wait('topic-1');
    const rows = await fx.query('SELECT DISTINCT topic FROM sluice_saga_outbox ORDER BY topic');
    expect(rows.map((r) => r.topic)).toEqual([
      'dashboards.saga.completed',
      'dashboards.saga.started',
      'dashboards.saga.step_completed',
    ]);
  });

  it('rejects bad input with invalid_argument and changes nothing', async () => {
    const o = orchestrator();
    const saga = sagas[0]!;
    await expect(o.start(saga, { amount: 1 }, { sagaId: 'has space' })).rejects.toMatchObject({
      code: 'invalid_argument',
      reason: 'SAGA_INVALID_ARGUMENT',
    });
    await expect(o.start(saga, { amount: 1n } as never, { sagaId: 'big' })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    const other = defineSaga({
      name: 'other',
      steps: sagaSteps<{ amount: number }>().step('a', { execute: () => 1 }),
    });
    await expect(o.start(other, { amount: 1 }, { sagaId: 'o' })).rejects.toMatchObject({
      reason: 'SAGA_UNKNOWN_SAGA',
    });
    await expect(o.start(saga, { amount: 1 }, { sagaId: 'ok', deadlineMs: -1 })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(o.list({ state: 'bogus' as never })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(o.inspect('missing')).rejects.toMatchObject({ code: 'not_found', reason: 'SAGA_NOT_FOUND' });
    expect(await o.list()).toEqual([]);
    const o2 = createOrchestrator({ store: fx.store, sagas: [other], clock });
    orchestrators.push(o2);
    await o.start(saga, { amount: 1 }, { sagaId: 'shared' });
    await expect(o2.start(other, { amount: 1 }, { sagaId: 'shared' })).rejects.toMatchObject({
      code: 'already_exists',
      reason: 'SAGA_ID_CONFLICT',
    });
  });

  it('commits lifecycle events atomically with the transition: a failing sink rolls the transition back', async () => {
    let fail = false;
    let broken = false;
    const written: string[] = [];
    const sink: SagaEventSink = {
      append(tx, events) {
        if (fail) throw new Error('outbox write failed');
        if (tx.dialect === 'sqlite') {
          for (const e of events) tx.db.prepare('INSERT INTO custom_outbox (id) VALUES (?)').run(e.id);
          written.push(...events.map((e) => e.id));
          return;
        }
        return (async () => {
          for (const e of events)
            await tx.client.query(`INSERT INTO "${tx.schema}".custom_outbox (id) VALUES ($1)`, [e.id]);
          written.push(...events.map((e) => e.id));
        })();
      },
    };
    const store = await fx.open(sink);
    await fx.query('CREATE TABLE custom_outbox (id TEXT PRIMARY KEY)');
    sagas = [
      defineSaga({
        name: 'order',
        steps: sagaSteps<{ amount: number }>()
          .step('one', { execute: () => 1 })
          .step('two', {
            execute: () => {
              if (!broken) fail = broken = true; // the first checkpoint of this step cannot publish its events
              return 2;
            },
          }),
      }),
    ];
    const errors: unknown[] = [];
    const o = orchestrator({ store });
    o.onError((e) => errors.push(e.error));
    o.run();
    await o.start(sagas[0]!, { amount: 1 }, { sagaId: 'a-1' });
    await until(clock, () => errors.length > 0);
    expect(errors).toHaveLength(1);
    const { saga, steps } = await o.inspect('a-1');
    // The checkpoint of `two` rolled back with its events: the saga still stands after `one`.
    expect(saga.state).toBe('running');
    expect(saga.stepIndex).toBe(1);
    expect(steps.map((s) => s.step)).toEqual(['one']);
    const rows = await fx.query('SELECT id FROM custom_outbox');
    expect(rows.map((r) => r.id).sort()).toEqual([...written].sort());
    expect(written).toHaveLength(2); // started + one's step_completed
    // Once the sink works again, another orchestrator finishes the saga after the lease expires.
    fail = false;
    await o.close({ releaseLeases: false });
    const b = orchestrator({ store, owner: 'b' });
    b.run();
    expect((await settle(clock, b, 'a-1')).state).toBe('completed');
    expect((await fx.query('SELECT id FROM custom_outbox')).length).toBe(4); // started, one, two, completed
  });
});

describe('defineSaga', () => {
  it('rejects malformed definitions with invalid_argument', () => {
    const bad = [
      () => defineSaga({ name: 'has space', steps: sagaSteps().step('a', { execute: () => 1 }) }),
      () => defineSaga({ name: 'x', steps: sagaSteps() }),
      () =>
        sagaSteps()
          .step('a', { execute: () => 1 })
          .step('a', { execute: () => 2 }),
      () => sagaSteps().step('a:b', { execute: () => 1 }),
      () => sagaSteps().step('a', {} as never),
      () => sagaSteps().step('a', { execute: () => 1, timeoutMs: 0 }),
      () =>
        defineSaga({ name: 'x', steps: sagaSteps().step('a', { execute: () => 1 }), deadlineMs: Number.NaN }),
    ];
    for (const f of bad) expect(f).toThrowError(expect.objectContaining({ code: 'invalid_argument' }));
  });
});

describe('SQLite saga store', () => {
  it('refuses an asynchronous event sink and rolls the transition back', async () => {
    const fx = await openFixture('sqlite', { append: async () => undefined });
    try {
      const saga = defineSaga({ name: 'one', steps: sagaSteps<object>().step('a', { execute: () => 1 }) });
      const o = createOrchestrator({ store: fx.store, sagas: [saga] });
      await expect(o.start(saga, {}, { sagaId: 's-1' })).rejects.toThrow(/synchronously/);
      expect(await fx.store.get('s-1')).toBeUndefined();
      await o.close();
    } finally {
      await fx.dispose();
    }
  });
});
