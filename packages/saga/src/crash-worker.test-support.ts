/**
 * An orchestrator process for the crash tests (run with
 * `node --conditions=sluice-source --import tsx`). Configured by environment:
 *
 * - `SAGA_STORE` (`sqlite` | `postgres`), `SAGA_DB` (file or URL), `SAGA_SCHEMA`
 * - `OWNER`: lease owner id
 * - `START`: JSON list of `{ id, input }` sagas to start first
 * - `CRASH_AT`: `before:<step>`, `after-effect:<step>`, `mid-compensation:<step>` or `parked`:
 *   on reaching it the worker prints `AT <point> <sagaId>` and hangs, waiting for SIGKILL
 * - `REFUND_OK=1`: the charge compensation stops failing; `OPERATOR_RETRY=1`: retry parked sagas
 * - `LEASE_MS`: lease length (default 1 500)
 * - `EXPECT`: do not leave before this many sagas exist
 * - `STEP_DELAY_MS`: each step waits this long before its effect; `MAX_CONCURRENT`: sagas driven at once
 *
 * Every step effect goes through a test service in the same database that
 * counts calls per idempotency key (`test_calls`) and applies each key once
 * (`test_effects`). Prints `DONE` and exits when no saga is active.
 */

import { SluiceError } from '@sluice/errors';
import { constant } from '@sluice/resilience';
import Database from 'better-sqlite3';
import pg from 'pg';
import { defineSaga, sagaSteps } from './define-saga.js';
import { createOrchestrator } from './orchestrator.js';
import { createPostgresSagaStore } from './postgres-saga-store.js';
import { createSqliteSagaStore } from './sqlite-saga-store.js';

interface Input {
  readonly failAt?: string;
  readonly refundFails?: boolean;
}

const env = process.env;
const owner = env.OWNER ?? `worker-${process.pid}`;
const crashAt = env.CRASH_AT ?? '';
const delayMs = Number(env.STEP_DELAY_MS ?? 0);

const say = (line: string) => process.stdout.write(`${line}\n`);
const hang = (point: string, sagaId: string) => {
  say(`AT ${point} ${sagaId}`);
  return new Promise<never>(() => {});
};

let effect: (key: string) => Promise<void>;
let closeEffects: () => Promise<void>;
const store = (() => {
  if (env.SAGA_STORE === 'sqlite') {
    const db = new Database(env.SAGA_DB as string);
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE IF NOT EXISTS test_calls (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, owner TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS test_effects (key TEXT PRIMARY KEY)`);
    const call = db.prepare('INSERT INTO test_calls (key, owner) VALUES (?, ?)');
    const apply = db.prepare('INSERT INTO test_effects (key) VALUES (?) ON CONFLICT (key) DO NOTHING');
    const tx = db.transaction((key: string) => {
      call.run(key, owner);
      apply.run(key);
    });
    effect = async (key) => {
      tx.immediate(key);
    };
    closeEffects = async () => {
      db.close();
    };
    return createSqliteSagaStore({ path: env.SAGA_DB as string, busyTimeoutMs: 10_000 });
  }
  const schema = env.SAGA_SCHEMA as string;
  const pool = new pg.Pool({ connectionString: env.SAGA_DB, max: 8 });
  effect = async (key) => {
    await pool.query(
      `WITH c AS (INSERT INTO "${schema}".test_calls (key, owner) VALUES ($1, $2))
       INSERT INTO "${schema}".test_effects (key) VALUES ($1) ON CONFLICT (key) DO NOTHING`,
      [key, owner],
    );
  };
  closeEffects = async () => pool.end();
  return createPostgresSagaStore({ pool, schema });
})();

const declined = () =>
  new SluiceError({
    code: 'failed_precondition',
    reason: 'TEST_DECLINED',
    message: 'declined',
    retryable: false,
  });

const step = (name: string, critical = true) => ({
  critical,
  retry: { maxAttempts: 2, backoff: constant(20) },
  execute: async ({
    idempotencyKey,
    sagaId,
    input,
  }: {
    idempotencyKey: string;
    sagaId: string;
    input: Input;
  }) => {
    if (crashAt === `before:${name}`) await hang(crashAt, sagaId);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    await effect(idempotencyKey);
    if (crashAt === `after-effect:${name}`) await hang(crashAt, sagaId);
    if (input.failAt === name) throw declined();
    return { key: idempotencyKey };
  },
  compensation: { retry: { maxAttempts: 2, backoff: constant(20) } },
  compensate: async ({
    compensationKey,
    sagaId,
    input,
  }: {
    compensationKey: string;
    sagaId: string;
    input: Input;
  }) => {
    if (name === 'charge' && input.refundFails && env.REFUND_OK !== '1') {
      throw new SluiceError({ code: 'unavailable', reason: 'TEST_REFUNDS_DOWN', message: 'refunds down' });
    }
    await effect(compensationKey);
    if (crashAt === `mid-compensation:${name}`) await hang(crashAt, sagaId);
  },
});

const order = defineSaga({
  name: 'order',
  steps: sagaSteps<Input>()
    .step('reserve', step('reserve'))
    .step('charge', step('charge'))
    .step('notify', step('notify', false))
    .step('confirm', step('confirm')),
});

await store.migrate();
if (env.SAGA_STORE !== 'sqlite') {
  const pool = new pg.Pool({ connectionString: env.SAGA_DB, max: 1 });
  await pool.query(`BEGIN; SELECT pg_advisory_xact_lock(hashtext('saga_test_tables'));
    CREATE TABLE IF NOT EXISTS "${env.SAGA_SCHEMA}".test_calls (seq BIGSERIAL PRIMARY KEY, key TEXT NOT NULL, owner TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS "${env.SAGA_SCHEMA}".test_effects (key TEXT PRIMARY KEY); COMMIT;`);
  await pool.end();
}
const orchestrator = createOrchestrator({
  store,
  sagas: [order],
  owner,
  leaseMs: Number(env.LEASE_MS ?? 1_500),
  heartbeatMs: 300,
  pollMs: 100,
  maxConcurrent: Number(env.MAX_CONCURRENT ?? 100),
});
orchestrator.onEvent((e) => {
  if (e.type === 'saga.step_completed') say(`STEP ${e.subject} ${String(e.data.step)}`);
  if (crashAt === 'parked' && e.type === 'saga.needs_attention') void hang('parked', e.subject ?? '');
});
orchestrator.onError(({ error }) => process.stderr.write(`orchestrator error: ${String(error)}\n`));
orchestrator.run();
if (env.OPERATOR_RETRY === '1') {
  for (const parked of await orchestrator.list({ state: 'needs_attention' }))
    await orchestrator.retry(parked.id);
}
for (const s of JSON.parse(env.START ?? '[]') as { id: string; input: Input }[]) {
  await orchestrator.start(order, s.input, { sagaId: s.id });
}
say('READY');
for (;;) {
  const active = [
    ...(await orchestrator.list({ state: 'running', limit: 10_000 })),
    ...(await orchestrator.list({ state: 'compensating', limit: 10_000 })),
  ];
  // A worker given a crash point never leaves on its own: it waits to be killed.
  const expected = Number(env.EXPECT ?? 0);
  const known = expected > 0 ? (await orchestrator.list({ limit: 10_000 })).length : 0;
  if (active.length === 0 && crashAt === '' && known >= expected) break;
  await new Promise((r) => setTimeout(r, 50));
}
await orchestrator.close();
await store.close();
await closeEffects();
say('DONE');
