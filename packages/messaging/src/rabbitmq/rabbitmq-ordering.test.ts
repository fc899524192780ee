import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery } from '../transport.js';
import { dec, enc, rabbitHarness, waitFor } from './rabbitmq.test-support.js';
import { partitionOf } from './topology-names.js';

let harness = rabbitHarness();
afterEach(async () => {
  await harness.cleanup();
  harness = rabbitHarness();
});

describe('RabbitMQ transport ordering keys', () => {
  it('keeps one key in order behind a retry while another key of the same partition goes on', async () => {
    const t = await harness.create();
    // Two keys that share a partition (of 4): only the consumer's per-key lanes keep them apart.
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
    const first = keys[0] as string;
    const sibling = keys.find((k) => k !== first && partitionOf(k, 4) === partitionOf(first, 4)) as string;
    expect(sibling).toBeDefined();
    await t.declareGroup('lanes', 'g');
    const seen: Array<[string, number]> = [];
    let retried = false;
    await t.consume(
      'lanes',
      'g',
      async (d) => {
        seen.push([d.id, d.attempt]);
        if (d.id === `${first}-0` && d.attempt === 1) {
          await d.retry(3_000);
          retried = true;
          return;
        }
        await d.ack();
      },
      { prefetch: 2 },
    );
    await t.publish('lanes', [
      { id: `${first}-0`, body: enc('a0'), orderingKey: first },
      { id: `${first}-1`, body: enc('a1'), orderingKey: first },
    ]);
    await waitFor(() => retried, 'the first attempt of the failing message');
    // Published while its partition-mate waits for its retry: this key is not held back.
    await t.publish('lanes', [
      { id: `${sibling}-0`, body: enc('s0'), orderingKey: sibling },
      { id: `${sibling}-1`, body: enc('s1'), orderingKey: sibling },
      { id: `${sibling}-2`, body: enc('s2'), orderingKey: sibling },
    ]);
    await waitFor(() => seen.length === 6, 'every delivery');
    expect(seen.filter(([id]) => id.startsWith(first))).toEqual([
      [`${first}-0`, 1],
      [`${first}-0`, 2],
      [`${first}-1`, 1],
    ]);
    expect(seen.filter(([id]) => id.startsWith(sibling)).map(([id]) => id)).toEqual([
      `${sibling}-0`,
      `${sibling}-1`,
      `${sibling}-2`,
    ]);
    // The whole sibling key ran during the 3 s retry delay (a generous margin on a loaded machine).
    const retryAt = seen.findIndex(([id, attempt]) => id === `${first}-0` && attempt === 2);
    expect(seen.slice(0, retryAt).filter(([id]) => id.startsWith(sibling))).toHaveLength(3);
  });

  it('returns buffered keyed messages in order to the next member when a member stops', async () => {
    const a = await harness.create();
    const b = await harness.create();
    await a.declareGroup('handover', 'g');
    const gotA: string[] = [];
    const gotB: string[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const consumerA = await a.consume('handover', 'g', async (d) => {
      gotA.push(d.id);
      await held;
      await d.ack();
    });
    await b.consume('handover', 'g', async (d) => {
      gotB.push(d.id);
      await d.ack();
    });
    const ids = Array.from({ length: 5 }, (_, i) => `h-${i}`);
    await a.publish(
      'handover',
      ids.map((id) => ({ id, body: enc(id), orderingKey: 'cart-7' })),
    );
    await waitFor(() => gotA.length === 1, 'member a to start h-0');
    const stopping = consumerA.stop();
    release();
    await stopping;
    await waitFor(() => gotB.length === 4, `member b to take over the key ${JSON.stringify([gotA, gotB])}`);
    expect(gotA).toEqual(['h-0']);
    expect(gotB).toEqual(['h-1', 'h-2', 'h-3', 'h-4']);
  });

  it('replays a keyed dead letter into its own partition with its key', async () => {
    const t = await harness.create();
    let dead = true;
    const got: Delivery[] = [];
    await t.consume('dlq-keyed', 'g', async (d) => {
      got.push(d);
      if (dead) await d.deadLetter({ error: 'nope', reason: 'TEST_NOPE' });
      else await d.ack();
    });
    await t.publish('dlq-keyed', [
      { id: 'kd-1', body: enc('payload'), orderingKey: 'acct-1', headers: { a: 'b' } },
    ]);
    await waitFor(async () => (await t.deadLetters.count({ topic: 'dlq-keyed' })) === 1, 'the dead letter');
    const [letter] = await t.deadLetters.list({ topic: 'dlq-keyed', group: 'g' });
    expect(letter?.orderingKey).toBe('acct-1');
    expect(letter?.headers).toEqual({ a: 'b' });
    expect(letter?.attempts).toBe(1);
    dead = false;
    expect(await t.deadLetters.replay({ topic: 'dlq-keyed' })).toBe(1);
    await waitFor(() => got.length === 2, 'the replayed delivery');
    expect(got[1]?.orderingKey).toBe('acct-1');
    expect(got[1]?.attempt).toBe(1);
    expect(dec(got[1]?.body ?? new Uint8Array())).toBe('payload');
    expect(await t.deadLetters.count({})).toBe(0);
  });

  it('accepts 200-character topic and group names (hashed into AMQP’s 255-byte names)', async () => {
    const t = await harness.create();
    const topic = `t${'x'.repeat(199)}`;
    const group = `g${'y'.repeat(199)}`;
    const got: string[] = [];
    await t.consume(topic, group, async (d) => {
      got.push(d.id);
      await d.ack();
    });
    await t.publish(topic, [
      { id: 'long-1', body: enc('x') },
      { id: 'long-2', body: enc('y'), orderingKey: 'k' },
    ]);
    await waitFor(() => got.length === 2, 'both deliveries');
    expect((await t.stats(topic)).map((s) => [s.topic, s.group])).toEqual([[topic, group]]);
  });
});
