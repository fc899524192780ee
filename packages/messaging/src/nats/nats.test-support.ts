/**
 * Test support for the NATS transport: a unique namespace per test file and
 * the clean-up that deletes every stream in it. Not exported by the package.
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** The NATS server the tests use (`SLUICE_NATS_URL`, default the local one). */
export const NATS_URL = process.env.SLUICE_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A fresh namespace prefix, e.g. `t_msgnats_3fa9c2`. */
export function testPrefix(label = 'msgnats'): string {
  return `t_${label}_${randomBytes(4).toString('hex')}`;
}

/** Deletes every stream of the namespace `prefix` (topic streams and the DLQ). */
export async function deleteNamespace(prefix: string): Promise<void> {
  const nc = await connect({ servers: NATS_URL });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(`${prefix.toUpperCase()}_`)) names.push(name);
    }
    for (const name of names) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

/** Polls `condition` every 20 ms until it holds or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
