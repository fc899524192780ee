import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery } from '../transport.js';
import { enc, freshPrefix, waitFor } from './rabbitmq.test-support.js';
import { createRabbitMqTransport } from './rabbitmq-transport.js';

/**
 * A real TCP proxy in front of the shared broker, so a test can cut the
 * transport's connections (as a network fault would) without touching the
 * broker itself.
 */
async function startProxy() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(5672, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}/`,
    /** Cuts every connection through the proxy (the broker sees them drop). */
    cut(): number {
      const n = sockets.size;
      for (const s of sockets) s.destroy();
      return n;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

describe('RabbitMQ transport reconnection', () => {
  it('reconnects after its connections drop: publishing and consuming resume, the in-flight message comes again', async () => {
    const proxy = await startProxy();
    const prefix = freshPrefix();
    cleanups.push(proxy.close);
    cleanups.push(async () => {
      const admin = await createRabbitMqTransport({ url: 'amqp://guest:guest@127.0.0.1:5672/', prefix });
      await admin.deleteTopology();
    });
    const t = await createRabbitMqTransport({ url: proxy.url, prefix, partitions: 2 });
    cleanups.push(() => t.close());
    const got: Array<[string, number]> = [];
    let holdFirst = true;
    const settleErrors: unknown[] = [];
    await t.consume('resilient', 'g', async (d: Delivery) => {
      got.push([d.id, d.attempt]);
      if (d.id === 'r-1' && holdFirst) {
        holdFirst = false;
        // Settle only once the consumer works on its new channel (r-2 arrived there): the old one is gone for sure.
        await waitFor(() => cut && got.some(([id]) => id === 'r-2'), 'the cut and r-2 on the new channel');
        await d.ack().catch((e: unknown) => settleErrors.push(e));
        return;
      }
      await d.ack();
    });
    let cut = false;
    await t.publish('resilient', [{ id: 'r-1', body: enc('1') }]);
    await waitFor(() => got.length === 1, 'the first delivery');
    expect(proxy.cut()).toBeGreaterThanOrEqual(2);
    cut = true;
    // Published while the transport reconnects: waits for the new connection, then is confirmed.
    await t.publish('resilient', [{ id: 'r-2', body: enc('2') }]);
    await waitFor(
      () => got.some(([id]) => id === 'r-2') && got.filter(([id]) => id === 'r-1').length === 2,
      'r-1 again and r-2',
    );
    expect(got.filter(([id]) => id === 'r-1')).toEqual([
      ['r-1', 1],
      ['r-1', 2],
    ]);
    // Settling a delivery of the lost channel does nothing (decision 017: a settle after the lease lapsed is a
    // no-op); depending on when the loss is noticed it resolves or says the transport was unavailable.
    expect(settleErrors.length).toBeLessThanOrEqual(1);
    for (const e of settleErrors)
      expect(e).toMatchObject({ code: 'unavailable', reason: 'MESSAGING_TRANSPORT_UNAVAILABLE' });
    await waitFor(async () => (await t.stats('resilient'))[0]?.pending === 0, 'an empty group');
  });

  it('fails an operation with MESSAGING_TRANSPORT_UNAVAILABLE when the broker stays away longer than connectWaitMs', async () => {
    const proxy = await startProxy();
    const t = await createRabbitMqTransport({ url: proxy.url, prefix: freshPrefix(), connectWaitMs: 500 });
    cleanups.push(() => t.close());
    await proxy.close(); // the listener is gone: every reconnection attempt is refused
    const err = await t.publish('gone', [{ id: 'x', body: enc('x') }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unavailable', reason: 'MESSAGING_TRANSPORT_UNAVAILABLE' });
  });
});
