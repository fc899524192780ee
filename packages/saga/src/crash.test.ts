import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { defineSaga, sagaSteps } from './define-saga.js';
import { createOrchestrator } from './orchestrator.js';
import { openFixture, STORE_KINDS, type StoreFixture } from './stores.test-support.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-worker.test-support.ts');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A spawned orchestrator process and the lines it printed. */
interface Worker {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line matching `pattern` (bounded wait). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

/** The workers' `order` saga as a starter sees it (it never drives it). */
const orderShape = defineSaga({
  name: 'order',
  steps: sagaSteps<{ failAt?: string }>()
    .step('reserve', { execute: () => null })
    .step('charge', { execute: () => null })
    .step('notify', { execute: () => null, critical: false })
    .step('confirm', { execute: () => null }),
});

function startWorker(fx: StoreFixture, env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--conditions=sluice-source', '--import', 'tsx', WORKER], {
    cwd: ROOT,
    env: { ...process.env, ...fx.childEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let buffer = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
    for (const l of listeners) l();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitFor(pattern, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find((l) => pattern.test(l));
          if (line === undefined) return false;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(line);
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(`no line ${pattern} in ${timeoutMs} ms; got ${lines.join(' | ')}; stderr ${stderr}`),
          );
        }, timeoutMs);
        if (!check()) listeners.add(check);
        void exited.then(() => {
          if (!check()) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`worker exited without ${pattern}; got ${lines.join(' | ')}; stderr ${stderr}`));
          }
        });
      });
    },
  };
}

async function kill(worker: Worker): Promise<void> {
  worker.child.kill('SIGKILL');
  await worker.exited;
}

/** Runs a worker to completion (it exits once no saga is active). */
async function runToEnd(fx: StoreFixture, env: Record<string, string> = {}): Promise<Worker> {
  const w = startWorker(fx, { OWNER: `restart-${Math.random().toString(36).slice(2, 8)}`, ...env });
  await w.waitFor(/^DONE$/);
  expect(await w.exited).toBe(0);
  return w;
}

async function calls(fx: StoreFixture): Promise<Map<string, number>> {
  const rows = await fx.query('SELECT key, COUNT(*) AS n FROM test_calls GROUP BY key');
  return new Map(rows.map((r) => [r.key as string, Number(r.n)]));
}

async function effects(fx: StoreFixture): Promise<string[]> {
  return (await fx.query('SELECT key FROM test_effects ORDER BY key')).map((r) => r.key as string);
}

async function state(fx: StoreFixture, id: string): Promise<string> {
  const rows = await fx.query(
    fx.kind === 'sqlite'
      ? 'SELECT state FROM sluice_sagas WHERE id = ?'
      : 'SELECT state FROM sluice_sagas WHERE id = $1',
    [id],
  );
  return rows[0]?.state as string;
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe.each(STORE_KINDS)('crash recovery on %s (SIGKILL of a real orchestrator process)', (kind) => {
  let fx: StoreFixture;
  afterEach(async () => {
    await fx?.dispose();
  });

  it('killed before a step: the restarted orchestrator runs it, every effect happens once', async () => {
    fx = await openFixture(kind);
    const w = startWorker(fx, {
      OWNER: 'first',
      CRASH_AT: 'before:charge',
      START: JSON.stringify([{ id: 's1', input: {} }]),
    });
    await w.waitFor(/^AT before:charge s1$/);
    await kill(w);
    expect(await state(fx, 's1')).toBe('running');
    await runToEnd(fx);
    expect(await state(fx, 's1')).toBe('completed');
    expect(await effects(fx)).toEqual(['s1:charge', 's1:confirm', 's1:notify', 's1:reserve']);
    const c = await calls(fx);
    expect([...c.values()].every((n) => n === 1)).toBe(true);
  });

  it('killed after a step’s effect but before its checkpoint: re-run with the same key, effect once', async () => {
    fx = await openFixture(kind);
    const w = startWorker(fx, {
      OWNER: 'first',
      CRASH_AT: 'after-effect:charge',
      START: JSON.stringify([{ id: 's2', input: {} }]),
    });
    await w.waitFor(/^AT after-effect:charge s2$/);
    await kill(w);
    await runToEnd(fx);
    expect(await state(fx, 's2')).toBe('completed');
    expect(await effects(fx)).toEqual(['s2:charge', 's2:confirm', 's2:notify', 's2:reserve']);
    const c = await calls(fx);
    expect(c.get('s2:reserve')).toBe(1); // checkpointed before the crash: never run again
    expect(c.get('s2:charge')).toBe(2); // in flight at the crash: run again, deduplicated by its key
    expect(c.get('s2:confirm')).toBe(1);
  });

  it('killed mid-compensation: the restarted orchestrator finishes undoing, each undo effected once', async () => {
    fx = await openFixture(kind);
    const w = startWorker(fx, {
      OWNER: 'first',
      CRASH_AT: 'mid-compensation:charge',
      START: JSON.stringify([{ id: 's3', input: { failAt: 'confirm' } }]),
    });
    await w.waitFor(/^AT mid-compensation:charge s3$/);
    await kill(w);
    expect(await state(fx, 's3')).toBe('compensating');
    await runToEnd(fx);
    expect(await state(fx, 's3')).toBe('failed');
    expect(await effects(fx)).toEqual([
      's3:charge',
      's3:charge:compensate',
      's3:confirm',
      's3:notify',
      's3:notify:compensate',
      's3:reserve',
      's3:reserve:compensate',
    ]);
    const c = await calls(fx);
    expect(c.get('s3:notify:compensate')).toBe(1); // compensated (newest first) before the crash
    expect(c.get('s3:charge:compensate')).toBe(2);
    expect(c.get('s3:reserve:compensate')).toBe(1);
    expect(c.get('s3:charge')).toBe(1);
  });

  it('killed while parked: it stays parked across a restart until an operator retries it', async () => {
    fx = await openFixture(kind);
    const w = startWorker(fx, {
      OWNER: 'first',
      CRASH_AT: 'parked',
      START: JSON.stringify([{ id: 's4', input: { failAt: 'confirm', refundFails: true } }]),
    });
    await w.waitFor(/^AT parked s4$/);
    await kill(w);
    expect(await state(fx, 's4')).toBe('needs_attention');
    await runToEnd(fx);
    expect(await state(fx, 's4')).toBe('needs_attention');
    expect((await effects(fx)).filter((k) => k.endsWith(':compensate'))).toEqual(['s4:notify:compensate']);
    await runToEnd(fx, { REFUND_OK: '1', OPERATOR_RETRY: '1' });
    expect(await state(fx, 's4')).toBe('failed');
    const c = await calls(fx);
    for (const key of ['s4:notify:compensate', 's4:charge:compensate', 's4:reserve:compensate']) {
      expect(c.get(key), key).toBe(1);
    }
  });

  it('two orchestrators compete for the same sagas; one is killed; the other takes over its sagas', async () => {
    fx = await openFixture(kind);
    const ids = Array.from({ length: 24 }, (_, i) => `c${i}`);
    const sagas = ids.map((id, i) => ({ id, input: i % 4 === 0 ? { failAt: 'confirm' } : {} }));
    // A longer lease here: a live orchestrator stalled by a loaded machine must not lose its sagas.
    const common = {
      STEP_DELAY_MS: '100',
      MAX_CONCURRENT: '4',
      EXPECT: String(ids.length),
      LEASE_MS: '4000',
    };
    const a = startWorker(fx, { OWNER: 'a', ...common });
    const b = startWorker(fx, { OWNER: 'b', ...common });
    await Promise.all([a.waitFor(/^READY$/), b.waitFor(/^READY$/)]);
    // Sagas started by a third party (this test), unclaimed: the two workers compete for them.
    const client = createOrchestrator({ store: fx.store, sagas: [orderShape] });
    for (const s of sagas) await client.start(orderShape, s.input, { sagaId: s.id });
    await client.close();
    // Let both work for a while, then kill one mid-flight.
    await a.waitFor(/^STEP c\d+ charge$/);
    await kill(a);
    await b.waitFor(/^DONE$/);
    expect(await b.exited).toBe(0);
    for (const [i, id] of ids.entries())
      expect(await state(fx, id), id).toBe(i % 4 === 0 ? 'failed' : 'completed');
    const rows = await fx.query('SELECT key, owner FROM test_calls ORDER BY seq');
    const keys = new Set(rows.map((r) => r.key as string));
    expect(new Set(await effects(fx))).toEqual(keys); // every effect exactly once (one row per key)
    // Per saga, the driving orchestrators form a prefix of one then the other: never both at once.
    let takenOver = 0;
    for (const id of ids) {
      const owners = rows.filter((r) => (r.key as string).startsWith(`${id}:`)).map((r) => r.owner as string);
      const switches = owners.filter((o, i) => i > 0 && o !== owners[i - 1]).length;
      expect(switches, `${id}: ${owners.join(',')}`).toBeLessThanOrEqual(1);
      if (switches === 1) {
        expect(owners[0]).toBe('a');
        takenOver++;
      }
    }
    expect(takenOver).toBeGreaterThan(0); // b continued sagas a had started
    // A key called twice was in flight in `a` when it died: at most one per saga.
    const counts = await calls(fx);
    for (const id of ids) {
      const twice = [...counts].filter(([k, n]) => k.startsWith(`${id}:`) && n > 1);
      expect(twice.length, id).toBeLessThanOrEqual(1);
      for (const [, n] of twice) expect(n).toBe(2);
    }
    expect(rows.some((r) => r.owner === 'b')).toBe(true);
  });
});
