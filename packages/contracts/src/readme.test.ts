import { describe, expect, it } from 'vitest';
import { createEnvelope, createShopEventRegistry, money } from './index.js';

// The README's example, run as written.
describe('README example', () => {
  it('validates, chains and rejects events as the README says', () => {
    const registry = createShopEventRegistry();
    const placed = createEnvelope({
      type: 'order.placed',
      source: 'order',
      subject: 'o-1',
      data: {
        orderId: 'o-1',
        customerId: 'c-1',
        items: [{ productId: 'sku-1', quantity: 2, unitPrice: money(1250, 'USD') }],
        total: money(2500, 'USD'),
        payment: { cardToken: 'tok_ok' },
      },
    });
    expect(registry.assertValid(placed)).toBe(placed);
    const reserved = createEnvelope({
      type: 'inventory.reserved',
      source: 'inventory',
      causedBy: placed,
      data: {
        orderId: 'o-1',
        reservationId: 'r-1',
        items: [{ productId: 'sku-1', quantity: 2 }],
        expiresAt: new Date().toISOString(),
      },
    });
    expect(registry.validate(reserved).ok).toBe(true);
    expect(reserved.correlationid).toBe(placed.correlationid);
    expect(reserved.causationid).toBe(placed.id);
    const bad = registry.validate({
      ...placed,
      data: { ...placed.data, items: [{ productId: 'sku-1', quantity: 0 }] },
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(new Set(bad.violations.map((v) => v.field))).toEqual(
        new Set(['data.items.0.quantity', 'data.items.0.unitPrice']),
      );
    expect(() => money(1.5, 'USD')).toThrow(RangeError);
  });
});
