import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';

/** One process the supervisor keeps running. */
export interface ProcessSpec {
  /** Unique name, used in logs and events. */
  readonly name: string;
  /** Executable (default: this Node binary). */
  readonly command?: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

/** Options of {@link createSupervisor}. */
export interface SupervisorOptions {
  readonly processes: readonly ProcessSpec[];
  /** First restart delay after a crash, in ms; doubles per consecutive crash. Default 250. */
  readonly restartBaseMs?: number;
  /** Largest restart delay, in ms. Default 10 000. */
  readonly restartMaxMs?: number;
  /** A process that ran this long (ms) before crashing resets its backoff. Default 10 000. */
  readonly stableAfterMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL, in ms. Default 10 000. */
  readonly stopTimeoutMs?: number;
  /** Where each child's output goes. Default: this process's stdout/stderr, each line prefixed with the name. */
  readonly output?: 'inherit-prefixed' | 'ignore';
}

/** Live state of a supervised process. */
export interface ProcessStatus {
  readonly name: string;
  readonly pid: number | undefined;
  readonly state: 'starting' | 'running' | 'restarting' | 'stopped';
  readonly restarts: number;
  readonly lastExit?: { code: number | null; signal: NodeJS.Signals | null; at: string };
}

/** Events: `exit` (name, code, signal), `restart` (name, attempt, delayMs), `spawn` (name, pid). */
export interface Supervisor extends EventEmitter {
  /** Starts every process. */
  start(): void;
  /** Stops every process: SIGTERM, then SIGKILL after `stopTimeoutMs`. Resolves when all have exited. */
  stop(): Promise<void>;
  status(): ProcessStatus[];
}

interface Slot {
  spec: ProcessSpec;
  child: ChildProcess | undefined;
  state: ProcessStatus['state'];
  restarts: number;
  consecutive: number;
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
  lastExit: ProcessStatus['lastExit'];
}

/**
 * Runs service processes and keeps them running: a process that exits while
 * the supervisor is not stopping is restarted after an exponential backoff
 * (reset once it has run stably). `stop()` ends them all gracefully.
 *
 * @example
 * ```ts
 * const sup = createSupervisor({ processes: [{ name: 'inventory', args: ['services/inventory/dist/main.js'] }] });
 * sup.start();
 * process.once('SIGINT', () => void sup.stop().then(() => process.exit(0)));
 * ```
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const base = options.restartBaseMs ?? 250;
  const max = options.restartMaxMs ?? 10_000;
  const stableAfter = options.stableAfterMs ?? 10_000;
  const stopTimeout = options.stopTimeoutMs ?? 10_000;
  const names = new Set<string>();
  for (const p of options.processes) {
    if (names.has(p.name)) throw new Error(`two processes named ${p.name}`);
    names.add(p.name);
  }
  const slots: Slot[] = options.processes.map((spec) => ({
    spec,
    child: undefined,
    state: 'stopped',
    restarts: 0,
    consecutive: 0,
    startedAt: 0,
    timer: undefined,
    lastExit: undefined,
  }));
  let stopping = false;
  const emitter = new EventEmitter() as Supervisor;

  const launch = (slot: Slot) => {
    slot.timer = undefined;
    slot.state = 'starting';
    slot.startedAt = Date.now();
    const child = spawn(slot.spec.command ?? process.execPath, [...slot.spec.args], {
      cwd: slot.spec.cwd,
      env: { ...process.env, ...slot.spec.env },
      stdio: options.output === 'ignore' ? 'ignore' : ['ignore', 'pipe', 'pipe'],
    });
    slot.child = child;
    if (options.output !== 'ignore') {
      prefixLines(child.stdout, process.stdout, slot.spec.name);
      prefixLines(child.stderr, process.stderr, slot.spec.name);
    }
    child.once('spawn', () => {
      slot.state = 'running';
      emitter.emit('spawn', slot.spec.name, child.pid);
    });
    child.once('error', (err) => {
      // Spawn failures (missing binary) surface as an exit so they are retried with backoff.
      process.stderr.write(`[${slot.spec.name}] ${err.message}\n`);
    });
    child.once('exit', (code, signal) => {
      slot.child = undefined;
      slot.lastExit = { code, signal, at: new Date().toISOString() };
      emitter.emit('exit', slot.spec.name, code, signal);
      if (stopping) {
        slot.state = 'stopped';
        return;
      }
      slot.consecutive = Date.now() - slot.startedAt >= stableAfter ? 1 : slot.consecutive + 1;
      const delay = Math.min(max, base * 2 ** (slot.consecutive - 1));
      slot.restarts++;
      slot.state = 'restarting';
      emitter.emit('restart', slot.spec.name, slot.restarts, delay);
      slot.timer = setTimeout(() => launch(slot), delay);
    });
  };

  emitter.start = () => {
    stopping = false;
    for (const slot of slots) if (slot.state === 'stopped') launch(slot);
  };

  emitter.stop = async () => {
    stopping = true;
    await Promise.all(
      slots.map(async (slot) => {
        if (slot.timer) clearTimeout(slot.timer);
        slot.timer = undefined;
        const child = slot.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) {
          slot.state = 'stopped';
          return;
        }
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeout);
        await exited;
        clearTimeout(killer);
      }),
    );
  };

  emitter.status = () =>
    slots.map((s) => ({
      name: s.spec.name,
      pid: s.child?.pid,
      state: s.state,
      restarts: s.restarts,
      ...(s.lastExit ? { lastExit: s.lastExit } : {}),
    }));

  return emitter;
}

function prefixLines(from: NodeJS.ReadableStream | null, to: NodeJS.WritableStream, name: string): void {
  if (!from) return;
  let rest = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) to.write(`[${name}] ${line}\n`);
  });
  from.on('end', () => {
    if (rest) to.write(`[${name}] ${rest}\n`);
  });
}
