import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';

/** Options of {@link startSuiteSubgraph}. */
export interface SuiteSubgraphOptions {
  /** Name for messages, e.g. `users`. */
  readonly name: string;
  /** The subgraph's bundled entry (`dist/subgraphs/<name>/index.js` of the suite). */
  readonly entry: string;
  /** Environment variable the bundle reads its port from (`USERS_PORT`, `INVENTORY_PORT`). */
  readonly portVariable: string;
  /** How long to wait for its "ready" message, in ms. Default 30 000. */
  readonly startTimeoutMs?: number;
}

/** A running subgraph child process. */
export interface SuiteSubgraph {
  readonly url: string;
  /** SIGTERM, then SIGKILL if still alive after 5 s. */
  stop(): Promise<void>;
}

/** A port free right now (the bundles listen on every interface, so probe the same way). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, () => resolve());
  });
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function startOnce(options: SuiteSubgraphOptions, port: number): Promise<SuiteSubgraph> {
  const child = spawn(process.execPath, [options.entry], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', [options.portVariable]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.name} subgraph not ready after ${timeoutMs} ms:\n${output}`)),
        timeoutMs,
      );
      child.once('message', (m) => {
        clearTimeout(timer);
        if (m === 'ready') resolve();
        else reject(new Error(`${options.name} subgraph said ${JSON.stringify(m)}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} subgraph exited (${code ?? signal}) before ready:\n${output}`));
      });
    });
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  child.disconnect();
  return { url: `http://127.0.0.1:${port}/`, stop: () => stopChild(child) };
}

/**
 * Starts one of the suite's own subgraphs (`users` or `inventory`) as a real
 * child process on a free port, as its pm2 mode would but without pm2, and
 * waits for the "ready" message it sends over IPC. Retries twice if the port
 * was taken between probing and binding.
 */
export async function startSuiteSubgraph(options: SuiteSubgraphOptions): Promise<SuiteSubgraph> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options, await freePort());
    } catch (err) {
      lastError = err;
      if (!String(err).includes('EADDRINUSE')) throw err;
    }
  }
  throw lastError;
}
