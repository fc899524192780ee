import { createEnvelope, createShopEventRegistry, type EventEnvelope, money } from '@sluice/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { followUp } from './follow-up.js';

const placed = () =>
  createEnvelope({
    type: 'order.placed',
    source: 'order',
    subject: 'o-1',
    userId: 'u-7',
    data: {
      orderId: 'o-1',
      customerId: 'c-1',
      items: [{ productId: 'sku-1', quantity: 1, unitPrice: money(100, 'USD') }],
      total: money(100, 'USD'),
      payment: { cardToken: 'tok_ok' },
    },
  });

describe('followUp', () => {
  it('keeps the correlation id, records the cause, carries subject and user, with a new id and time', () => {
    const cause = placed();
    const next = followUp(cause, {
      type: 'inventory.reserved',
      source: 'inventory',
      id: 'e-2',
      time: Date.UTC(2026, 0, 1, 12),
      data: {
        orderId: 'o-1',
        reservationId: 'r-1',
        items: [{ productId: 'sku-1', quantity: 1 }],
        expiresAt: '2026-01-01T12:15:00.000Z',
      },
    });
    expect(next).toMatchObject({
      id: 'e-2',
      type: 'inventory.reserved',
      source: 'inventory',
      subject: 'o-1',
      time: '2026-01-01T12:00:00.000Z',
      correlationid: cause.correlationid,
      causationid: cause.id,
      userid: 'u-7',
      dataschema: 'urn:sluice:schema:inventory.reserved:v1',
    });
    expect(next.traceparent).toBeUndefined();
    expect(createShopEventRegistry().validate(next).ok).toBe(true);
  });

  it('builds chains where every event points at its cause and shares the root’s correlation id', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a.one', 'b.two', 'c.three'), { minLength: 1, maxLength: 20 }),
        (types) => {
          const root = placed();
          const chain: EventEnvelope[] = [root];
          for (const type of types) {
            const parent = chain[Math.floor(chain.length / 2)] as EventEnvelope;
            chain.push(followUp(parent, { type, source: 'svc', data: {} }));
          }
          const ids = new Set(chain.map((e) => e.id));
          expect(ids.size).toBe(chain.length);
          for (const e of chain.slice(1)) {
            expect(e.correlationid).toBe(root.correlationid);
            expect(ids.has(e.causationid as string)).toBe(true);
            expect(e.causationid).not.toBe(e.id);
          }
        },
      ),
    );
  });
});
