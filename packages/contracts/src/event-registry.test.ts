import { isSluiceError, type SluiceError } from '@sluice/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEnvelope, dataSchemaUri } from './envelope.js';
import { createEventRegistry } from './event-registry.js';
import { CURRENCIES } from './money.js';
import { createShopEventRegistry, shopEvents } from './shop-events.js';

const usd = (amount: number) => ({ amount, currency: 'USD' });

/** A valid data example of every shop event type. */
const examples: Record<string, Record<string, unknown>> = {
  'order.placed': {
    orderId: 'o-1',
    customerId: 'c-1',
    items: [{ productId: 'sku-1', quantity: 2, unitPrice: usd(1250) }],
    total: usd(2500),
    payment: { cardToken: 'tok_ok' },
  },
  'order.confirmed': { orderId: 'o-1', customerId: 'c-1', total: usd(2500), paymentId: 'pay-1' },
  'order.cancelled': { orderId: 'o-1', customerId: 'c-1', reason: 'PAYMENT_DECLINED' },
  'inventory.reserved': {
    orderId: 'o-1',
    reservationId: 'r-1',
    items: [{ productId: 'sku-1', quantity: 2 }],
    expiresAt: '2026-12-04T05:00:00.000Z',
  },
  'inventory.reservation_failed': {
    orderId: 'o-1',
    reason: 'INVENTORY_INSUFFICIENT_STOCK',
    productId: 'sku-1',
  },
  'inventory.released': {
    reservationId: 'r-1',
    orderId: 'o-1',
    cause: 'expired',
    items: [{ productId: 'sku-1', quantity: 2 }],
  },
  'payment.processed': { orderId: 'o-1', customerId: 'c-1', paymentId: 'pay-1', amount: usd(2500) },
  'payment.failed': { orderId: 'o-1', customerId: 'c-1', amount: usd(2500), reason: 'PAYMENT_DECLINED' },
  'payment.refunded': { orderId: 'o-1', paymentId: 'pay-1', refundId: 'ref-1', amount: usd(2500) },
  'notification.sent': {
    messageId: 'm-1',
    to: 'a@example.com',
    templateId: 'order-confirmed',
    orderId: 'o-1',
  },
  'email.send': {
    messageId: 'm-1',
    to: 'a@example.com',
    subject: 'Your order',
    templateId: 'order-confirmed',
    templateData: { orderId: 'o-1' },
    priority: 'high',
  },
};

const registry = createShopEventRegistry();
const envelopeOf = (type: string, data: unknown) =>
  createEnvelope({ type, source: 'test', subject: 'o-1', data, time: '2026-12-04T04:00:00.000Z' });

/** Every leaf path of a JSON value, as key lists. */
function leafPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, [...prefix, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  return [prefix];
}
function setPath(root: unknown, path: (string | number)[], replacement: unknown): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = replacement;
  return copy;
}

describe('shop event schemas', () => {
  it('has an example for every declared type, and every example is valid', () => {
    expect(shopEvents.map((d) => d.type).sort()).toEqual(Object.keys(examples).sort());
    for (const [type, data] of Object.entries(examples)) {
      const r = registry.validate(envelopeOf(type, data));
      expect(r.ok, `${type}: ${JSON.stringify(r)}`).toBe(true);
    }
  });

  it('rejects a value of the wrong type at any field, naming that field', () => {
    const cases = Object.entries(examples).flatMap(([type, data]) =>
      // templateData holds free-form values by design.
      leafPaths(data)
        .filter((path) => path[0] !== 'templateData')
        .map((path) => ({ type, data, path })),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...cases),
        fc.oneof(
          fc.constant(null),
          fc.constant(true),
          fc.constant([]),
          fc.constant({}),
          fc.double({ noInteger: true }),
        ),
        ({ type, data, path }, wrong) => {
          const r = registry.validate(envelopeOf(type, setPath(data, path, wrong)));
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.violations.some((v) => v.field.startsWith(`data.${path[0]}`))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects an event missing any required field', () => {
    for (const def of shopEvents) {
      const data = examples[def.type] as Record<string, unknown>;
      const required = (def.schema as { required?: string[] }).required ?? [];
      expect(required.length).toBeGreaterThan(0);
      for (const field of required) {
        const { [field]: _dropped, ...rest } = data;
        const r = registry.validate(envelopeOf(def.type, rest));
        expect(r.ok, `${def.type} without ${field}`).toBe(false);
        if (!r.ok) expect(r.violations.map((v) => v.field)).toContain(`data.${field}`);
      }
    }
  });

  it('rejects zero, negative and fractional quantities', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ max: 0 }),
          fc.integer({ min: 10_001 }),
          fc.double({ noInteger: true, noNaN: true }),
        ),
        (q) => {
          const data = setPath(examples['inventory.reserved'], ['items', 0, 'quantity'], q);
          const r = registry.validate(envelopeOf('inventory.reserved', data));
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.violations.map((v) => v.field)).toContain('data.items.0.quantity');
        },
      ),
    );
  });

  it('rejects unknown currencies and non-integer or negative money', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 5 }).filter((c) => !(CURRENCIES as readonly string[]).includes(c)),
        (currency) => {
          const r = registry.validate(
            envelopeOf('payment.processed', {
              ...examples['payment.processed'],
              amount: { amount: 1, currency },
            }),
          );
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.violations.map((v) => v.field)).toContain('data.amount.currency');
        },
      ),
    );
    for (const amount of [-1, 1.5, Number.NaN, 1e13]) {
      const r = registry.validate(
        envelopeOf('payment.processed', { ...examples['payment.processed'], amount: usd(amount) }),
      );
      expect(r.ok, String(amount)).toBe(false);
    }
  });

  it('rejects oversized strings and arrays', () => {
    fc.assert(
      fc.property(fc.integer({ min: 129, max: 5000 }), (len) => {
        const r = registry.validate(
          envelopeOf('order.cancelled', { ...examples['order.cancelled'], orderId: 'x'.repeat(len) }),
        );
        expect(r.ok).toBe(false);
      }),
      { numRuns: 20 },
    );
    const many = Array.from({ length: 101 }, () => ({ productId: 'p', quantity: 1, unitPrice: usd(1) }));
    expect(
      registry.validate(envelopeOf('order.placed', { ...examples['order.placed'], items: many })).ok,
    ).toBe(false);
  });

  it('accepts additional data fields, so newer producers of the same major stay compatible', () => {
    const r = registry.validate(
      envelopeOf('order.confirmed', { ...examples['order.confirmed'], loyaltyPoints: 12 }),
    );
    expect(r.ok).toBe(true);
  });
});

describe('EventRegistry', () => {
  it('rejects envelopes whose attributes are missing, malformed or unknown', () => {
    const good = envelopeOf('order.confirmed', examples['order.confirmed']);
    const bad: [string, unknown][] = [
      ['specversion', '0.3'],
      ['id', ''],
      ['type', 'Order Placed'],
      ['time', 'yesterday'],
      ['correlationid', undefined],
      ['traceparent', 'not-a-traceparent'],
      ['colour', 'blue'],
    ];
    for (const [field, value] of bad) {
      const r = registry.validate({ ...good, [field]: value });
      expect(r.ok, field).toBe(false);
      if (!r.ok)
        expect(r.violations.map((v) => v.field).join(' '), field).toContain(field === 'colour' ? '' : field);
    }
  });

  it('reports envelope and data violations together', () => {
    const r = registry.validate({ ...envelopeOf('order.cancelled', { orderId: 'o-1' }), time: 'nope' });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.violations.map((v) => v.field)).toEqual(
        expect.arrayContaining(['time', 'data.customerId', 'data.reason']),
      );
  });

  it('names unknown types and unknown versions distinctly', () => {
    const unknown = registry.validate(envelopeOf('order.teleported', {}));
    expect(unknown).toMatchObject({ ok: false, reason: 'CONTRACTS_UNKNOWN_EVENT_TYPE' });
    const v9 = registry.validate({
      ...envelopeOf('order.confirmed', examples['order.confirmed']),
      dataschema: dataSchemaUri('order.confirmed', 9),
    });
    expect(v9).toMatchObject({ ok: false, reason: 'CONTRACTS_UNKNOWN_EVENT_TYPE' });
    const mismatch = registry.validate({
      ...envelopeOf('order.confirmed', examples['order.confirmed']),
      dataschema: dataSchemaUri('order.placed', 1),
    });
    expect(mismatch).toMatchObject({ ok: false, reason: 'CONTRACTS_INVALID_EVENT' });
  });

  it('never throws from validate, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const r = registry.validate(value);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('assertValid throws an invalid_argument SluiceError listing every violation', () => {
    try {
      registry.assertValid(envelopeOf('order.cancelled', { orderId: 'o 1' }));
      expect.unreachable();
    } catch (err) {
      expect(isSluiceError(err)).toBe(true);
      const e = err as SluiceError;
      expect(e.code).toBe('invalid_argument');
      expect(e.reason).toBe('CONTRACTS_INVALID_EVENT');
      expect(e.violations.map((v) => v.field)).toEqual(
        expect.arrayContaining(['data.orderId', 'data.customerId', 'data.reason']),
      );
    }
  });

  it('refuses two definitions of one type and version', () => {
    expect(() => createEventRegistry([...shopEvents, shopEvents[0]!])).toThrow(/defined twice/);
  });
});

describe('createEnvelope', () => {
  it('keeps the correlation chain: the cause’s correlation id, its id as causation id', () => {
    const placed = envelopeOf('order.placed', examples['order.placed']);
    expect(placed.correlationid).toBe(placed.id);
    expect(placed.causationid).toBeUndefined();
    const reserved = createEnvelope({
      type: 'inventory.reserved',
      source: 'inventory',
      data: examples['inventory.reserved'],
      causedBy: { ...placed, userid: 'u-1' },
    });
    expect(reserved.correlationid).toBe(placed.id);
    expect(reserved.causationid).toBe(placed.id);
    expect(reserved.userid).toBe('u-1');
    expect(reserved.dataschema).toBe('urn:sluice:schema:inventory.reserved:v1');
    expect(registry.validate(reserved).ok).toBe(true);
  });
});
