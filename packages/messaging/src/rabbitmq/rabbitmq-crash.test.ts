import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnScriptChild } from '../conformance/conformance-helpers.js';
import type { Delivery } from '../transport.js';
import { enc, RABBIT_URL, rabbitHarness, waitFor } from './rabbitmq.test-support.js';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Child {
  readonly proc: ChildProcess;
  readonly lines: Array<{ ready?: boolean; id?: string; attempt?: number }>;
}

/** Starts crash-consumer.test-support.ts in a real Node process. */
function startChild(prefix: string, topic: string, group: string, url = RABBIT_URL): Child {
  const c = spawnScriptChild(path.join(here, 'crash-consumer.test-support.ts'), [url, prefix, topic, group]);
  children.push(c.process);
  return { proc: c.process, lines: c.lines as Child['lines'] };
}

async function kill(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  await waitFor(() => child.proc.signalCode !== null, 'the child to die');
}

let children: ChildProcess[] = [];
let harness = rabbitHarness();
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
  await harness.cleanup();
  harness = rabbitHarness();
});

describe('RabbitMQ transport crash semantics', () => {
  it('counts every delivery of a message that keeps killing its consumer', async () => {
    const t = await harness.create();
    await t.declareGroup('poison', 'g');
    await t.publish('poison', [{ id: 'p-1', body: enc('boom') }]);
    for (const expected of [1, 2]) {
      const child = startChild(harness.prefix, 'poison', 'g');
      await waitFor(() => child.lines.some((l) => l.id === 'p-1'), `child delivery ${expected}`, 30_000);
      expect(child.lines.find((l) => l.id === 'p-1')?.attempt).toBe(expected);
      await kill(child);
    }
    const got: Delivery[] = [];
    await t.consume('poison', 'g', async (d) => {
      got.push(d);
      await d.ack();
    });
    await waitFor(() => got.length === 1, 'the third delivery');
    expect(got[0]?.attempt).toBe(3);
  });

  it('hands a killed member’s keyed messages to the next member in key order', async () => {
    const t = await harness.create();
    await t.declareGroup('keyed', 'g');
    const child = startChild(harness.prefix, 'keyed', 'g');
    await waitFor(() => child.lines.some((l) => l.ready), 'the child to consume', 30_000);
    // The parent member registers second: the child is the single active consumer of every partition.
    const got: Delivery[] = [];
    await t.consume(
      'keyed',
      'g',
      async (d) => {
        got.push(d);
        await d.ack();
      },
      { prefetch: 4 },
    );
    const ids = Array.from({ length: 6 }, (_, i) => `k-${i}`);
    await t.publish(
      'keyed',
      ids.map((id) => ({ id, body: enc(id), orderingKey: 'order-42' })),
    );
    await waitFor(() => child.lines.some((l) => l.id === 'k-0'), 'the child to take k-0');
    // One at a time per key: the child holds k-0 and has not started k-1.
    expect(child.lines.filter((l) => l.id !== undefined).map((l) => l.id)).toEqual(['k-0']);
    expect(got).toHaveLength(0);
    await kill(child);
    await waitFor(() => got.length === 6, 'the parent to handle the key');
    expect(got.map((d) => d.id)).toEqual(ids);
    expect(got[0]?.attempt).toBe(2);
    expect(got.every((d) => d.orderingKey === 'order-42')).toBe(true);
  });

  it('takes the messages of a frozen (SIGSTOPped) consumer back after its heartbeats stop', async () => {
    const t = await harness.create();
    await t.declareGroup('frozen', 'g');
    await t.publish('frozen', [{ id: 'f-1', body: enc('f') }]);
    // A 2 s heartbeat: the broker drops the silent connection after about two missed beats.
    const child = startChild(harness.prefix, 'frozen', 'g', `${RABBIT_URL}?heartbeat=2`);
    await waitFor(() => child.lines.some((l) => l.id === 'f-1'), 'the child to take f-1', 30_000);
    child.proc.kill('SIGSTOP');
    const got: Delivery[] = [];
    await t.consume('frozen', 'g', async (d) => {
      got.push(d);
      await d.ack();
    });
    // Bounded, generous wait: the heartbeat timeout is seconds, not minutes.
    await waitFor(() => got.length === 1, 'f-1 to come back from the frozen child', 40_000);
    expect(got[0]?.id).toBe('f-1');
    expect(got[0]?.attempt).toBe(2);
    child.proc.kill('SIGKILL');
  }, 60_000);
});
