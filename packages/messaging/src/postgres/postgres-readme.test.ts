import { describe, expect, it } from 'vitest';
import { waitFor } from '../conformance/conformance-helpers.js';
import { createBus } from '../index.js';
import { pgTestSchemas } from './temp-pg-schema.test-support.js';

const schemas = pgTestSchemas();

// The README's PostgreSQL example, run as written; only the schema is a
// throw-away one and createInvoice() is recorded.
describe('README example: PostgreSQL', () => {
  it('runs a work queue with a scheduled job on PostgreSQL', async () => {
    const invoices: unknown[] = [];
    const createInvoice = async (data: unknown) => {
      invoices.push(data);
    };
    const url = await schemas.url();
    const sentAt = Date.now();

    const bus = await createBus({
      url, // 'postgres://postgres@127.0.0.1:5432/test?schema=shop_bus' in the README
      source: 'billing',
    });

    await bus.work('invoice.create', { prefetch: 20, leaseMs: 5_000 }, async (event) => {
      await createInvoice(event.data); // a SIGKILLed worker's invoice moves to another worker after ≤ 5 s
    });

    await bus.send('invoice.create', bus.event({ type: 'invoice.create', data: { orderId: 'o-1' } }), {
      deliverAt: new Date(Date.now() + 1_000), // not before one second from now
    });

    await waitFor('the invoice', () => invoices.length === 1);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1_000 - 25);
    expect(invoices).toEqual([{ orderId: 'o-1' }]);
    await bus.close();
  });
});
