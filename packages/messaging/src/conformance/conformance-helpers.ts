import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Delivery, OutgoingMessage } from '../transport.js';

/**
 * Helpers of the transport conformance suite: bounded waits for conditions
 * (never a fixed sleep, never a timing assertion), names unique per test, a
 * consumer child process to SIGKILL.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root, where `node_modules/tsx` lives. */
const repoRoot = path.resolve(here, '..', '..', '..', '..');

/** A short random suffix for names unique to one test. */
export function uniqueSuffix(): string {
  return randomBytes(5).toString('hex');
}

/**
 * Polls `condition` every `intervalMs` until it is truthy; throws with
 * `what` after `timeoutMs` (generous: a loaded 2-core machine is slow, and a
 * correct transport meets the condition long before).
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | Promise<T>,
  timeoutMs = 20_000,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await condition();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A promise with its resolver, to hold a handler until the test releases it. */
export interface Gate {
  readonly promise: Promise<void>;
  open(): void;
  readonly isOpen: boolean;
}

/** Makes a {@link Gate}. */
export function gate(): Gate {
  let open!: () => void;
  let isOpen = false;
  const promise = new Promise<void>((r) => {
    open = () => {
      isOpen = true;
      r();
    };
  });
  return {
    promise,
    open: () => open(),
    get isOpen() {
      return isOpen;
    },
  };
}

/** One handled delivery, as a test records it. */
export interface Received {
  readonly id: string;
  readonly attempt: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly priority: string;
  readonly orderingKey: string | undefined;
  readonly consumer: string;
  /** `Date.now()` when the handler started. */
  readonly at: number;
  readonly delivery: Delivery;
}

/** Records deliveries in arrival order. */
export function record(list: Received[], consumer: string, d: Delivery): Received {
  const r: Received = {
    id: d.id,
    attempt: d.attempt,
    body: new TextDecoder().decode(d.body),
    headers: d.headers,
    priority: d.priority,
    orderingKey: d.orderingKey,
    consumer,
    at: Date.now(),
    delivery: d,
  };
  list.push(r);
  return r;
}

/** A message whose body is the UTF-8 text `text` (default: the id). */
export function textMessage(id: string, extra: Partial<OutgoingMessage> = {}, text = id): OutgoingMessage {
  return { id, body: new TextEncoder().encode(text), ...extra };
}

/** What an awaited promise rejected with, or fails the test when it resolved. */
export async function rejectionOf(p: Promise<unknown>): Promise<{ code?: string; reason?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; reason?: string };
  }
  throw new Error('expected a rejection, but the call succeeded');
}

/** A TypeScript script running in its own Node process, printing JSON lines on stdout. */
export interface ScriptChild {
  readonly process: ChildProcess;
  /** The JSON lines (objects) it printed so far, in order. */
  readonly lines: Array<Record<string, unknown>>;
  /** Everything it wrote to stderr, for failure messages. */
  stderr(): string;
  /** SIGKILLs it unless it already exited. */
  kill(): void;
  /** Resolves with the signal that ended it (null for a normal exit). */
  readonly exited: Promise<NodeJS.Signals | null>;
}

/**
 * Runs `script` (a `.ts` file) in a real Node process through tsx with the
 * `sluice-source` condition, from the repository root, collecting the JSON
 * objects it prints one per line: the crash tests' child processes.
 */
export function spawnScriptChild(script: string, args: readonly string[]): ScriptChild {
  const child = spawn(process.execPath, ['--conditions=sluice-source', '--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let err = '';
  let buf = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
  return {
    process: child,
    lines,
    stderr: () => err,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    exited,
  };
}

/** A consumer child process: it prints one JSON line per delivery and never settles one. */
export type ConsumerChild = ScriptChild;

/**
 * Spawns `consumer-child.ts` in a real Node process (tsx, `sluice-source`
 * condition): it opens `createTransport(url)` and consumes `topic` as a member of
 * `group` with `prefetch` 1 and the given lease, holding every delivery
 * forever, so the parent can SIGKILL it mid-handler.
 */
export function spawnConsumerChild(
  url: string,
  topic: string,
  group: string,
  leaseMs: number,
): ConsumerChild {
  return spawnScriptChild(path.join(here, 'consumer-child.ts'), [url, topic, group, String(leaseMs)]);
}
