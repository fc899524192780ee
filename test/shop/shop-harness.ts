import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A free loopback port (the kernel's pick, released at once). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** The whole shop as real processes, started by `npm start`'s script with its own data folder and ports. */
export interface RunningShop {
  readonly dataDir: string;
  readonly urls: Record<
    'product' | 'order' | 'inventory' | 'payment' | 'notification' | 'orchestrator' | 'gateway',
    string
  >;
  /** The dev token `npm start` wrote to `<data>/dev-token`. */
  readonly token: string;
  readonly log: () => string;
  /** The pid of one service's process (read from the supervisor's children). */
  pidOf(service: string): number | undefined;
  /** Reads a service's SQLite database (read-only) for invariant checks. */
  query<T>(service: string, sql: string, ...params: unknown[]): T[];
  stop(): Promise<void>;
}

/** Starts the shop and waits until every service is ready. */
export async function startShop(env: Record<string, string> = {}): Promise<RunningShop> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-shop-'));
  const names = ['product', 'order', 'inventory', 'payment', 'notification', 'orchestrator'] as const;
  const ports: Record<string, number> = {};
  for (const n of names) ports[n] = await freePort();
  const portEnv = {
    PRODUCT_PORT: ports.product,
    ORDER_PORT: ports.order,
    INVENTORY_PORT: ports.inventory,
    PAYMENT_PORT: ports.payment,
    NOTIFICATION_PORT: ports.notification,
    ORCHESTRATOR_PORT: ports.orchestrator,
    INVENTORY_GRPC_PORT: await freePort(),
    PAYMENT_GRPC_PORT: await freePort(),
    GATEWAY_PORT: await freePort(),
  };
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=sluice-source', '--import', 'tsx', path.join(root, 'scripts/start-shop.ts')],
    {
      cwd: root,
      env: {
        ...process.env,
        SLUICE_DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        ...Object.fromEntries(Object.entries(portEnv).map(([k, v]) => [k, String(v)])),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const deadline = Date.now() + 120_000;
  while (!output.includes('Ctrl-C stops everything')) {
    if (child.exitCode !== null) throw new Error(`the shop exited during start:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the shop did not start in 120 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (output.includes('not ready after')) throw new Error(`a service did not get ready:\n${output}`);
  const urls = {
    ...Object.fromEntries(names.map((n) => [n, `http://127.0.0.1:${ports[n]}`])),
    gateway: `http://127.0.0.1:${portEnv.GATEWAY_PORT}`,
  } as RunningShop['urls'];
  const token = fs.readFileSync(path.join(dataDir, 'dev-token'), 'utf8').trim();
  return {
    dataDir,
    urls,
    token,
    log: () => output,
    pidOf(service) {
      const out = fs
        .readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .map(Number);
      for (const pid of out) {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.includes(`services/${service}/src/main.ts`)) return pid;
      }
      return undefined;
    },
    query<T>(service: string, sql: string, ...params: unknown[]) {
      const db = new Database(path.join(dataDir, `${service}.db`), { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as T[];
      } finally {
        db.close();
      }
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** JSON over HTTP with a small timeout, for tests. */
export async function http<T = Record<string, unknown>>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Polls `probe` until it returns a value (not undefined), at most `ms`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  ms = 30_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what} not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
