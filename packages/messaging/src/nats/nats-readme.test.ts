import { afterAll, describe, expect, it } from 'vitest';
import { createTransport } from '../create-transport.js';
import type { Delivery } from '../transport.js';
import { deleteNamespace, NATS_URL, testPrefix, waitFor } from './nats.test-support.js';

describe('README (NATS JetStream section)', () => {
  const prefix = testPrefix('readme');
  afterAll(() => deleteNamespace(prefix));

  it('runs the NATS example', async () => {
    // The README example, with a test namespace instead of `shop`.
    const transport = await createTransport(`${NATS_URL}?prefix=${prefix}`);
    await transport.declareGroup('orders', 'billing');
    await transport.publish('orders', [
      { id: 'o-1', body: new TextEncoder().encode('{"total":42}'), priority: 'high' },
      { id: 'o-2', body: new TextEncoder().encode('{"total":7}'), orderingKey: 'customer-9' },
    ]);
    const handled: Delivery[] = [];
    const consumer = await transport.consume('orders', 'billing', async (delivery) => {
      handled.push(delivery);
      await delivery.ack();
    });
    await waitFor(() => handled.length === 2, 'both orders');
    await consumer.stop();
    await transport.close();
    expect(handled.map((d) => d.id).sort()).toEqual(['o-1', 'o-2']);
    expect(handled.find((d) => d.id === 'o-2')?.orderingKey).toBe('customer-9');
  });
});
