import { Type } from '@fastify/type-provider-typebox';
import fc from 'fast-check';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from './http.test-support.js';
import { createHttpServer, type HttpServer } from './http-server.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { createMemoryIdempotencyStore } from './memory-idempotency-store.js';

const Order = Type.Object(
  {
    customerId: Type.String({ minLength: 1, maxLength: 64 }),
    items: Type.Array(
      Type.Object(
        { productId: Type.String({ minLength: 1 }), quantity: Type.Integer({ minimum: 1, maximum: 100 }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 5 },
    ),
  },
  { additionalProperties: false },
);

/** The schema above, by hand: the oracle the server is checked against. */
function isValidOrder(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const o = value as Record<string, unknown>;
  if (Object.keys(o).some((k) => k !== 'customerId' && k !== 'items')) return false;
  if (typeof o.customerId !== 'string' || o.customerId.length < 1 || o.customerId.length > 64) return false;
  if (!Array.isArray(o.items) || o.items.length < 1 || o.items.length > 5) return false;
  return o.items.every((item) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return false;
    const i = item as Record<string, unknown>;
    if (Object.keys(i).some((k) => k !== 'productId' && k !== 'quantity')) return false;
    return (
      typeof i.productId === 'string' &&
      i.productId.length >= 1 &&
      typeof i.quantity === 'number' &&
      Number.isInteger(i.quantity) &&
      i.quantity >= 1 &&
      i.quantity <= 100
    );
  });
}

const almostOrder = fc.record(
  {
    customerId: fc.oneof(fc.string({ maxLength: 70 }), fc.integer(), fc.constant(null)),
    items: fc.oneof(
      fc.array(
        fc.record(
          {
            productId: fc.oneof(fc.string({ maxLength: 8 }), fc.integer()),
            quantity: fc.oneof(fc.integer({ min: -3, max: 120 }), fc.double(), fc.string({ maxLength: 3 })),
            extra: fc.string({ maxLength: 3 }),
          },
          { requiredKeys: ['productId', 'quantity'] },
        ),
        { maxLength: 6 },
      ),
      fc.jsonValue(),
    ),
    coupon: fc.string({ maxLength: 4 }),
  },
  { requiredKeys: [] },
);

const validOrder = fc.record({
  customerId: fc.string({ minLength: 1, maxLength: 64 }),
  items: fc.array(
    fc.record({
      productId: fc.string({ minLength: 1, maxLength: 8 }),
      quantity: fc.integer({ min: 1, max: 100 }),
    }),
    {
      minLength: 1,
      maxLength: 5,
    },
  ),
});

const body = fc.oneof(
  validOrder.map((v) => ({ text: JSON.stringify(v), parsed: v as unknown })),
  almostOrder.map((v) => ({ text: JSON.stringify(v), parsed: v as unknown })),
  fc.jsonValue().map((v) => ({ text: JSON.stringify(v), parsed: v as unknown })),
  fc.string({ maxLength: 40 }).map((s) => ({ text: s, parsed: undefined as unknown })),
  fc
    .uint8Array({ maxLength: 64 })
    .map((b) => ({ text: Buffer.from(b).toString('latin1'), parsed: undefined as unknown })),
  fc.constant({ text: `{"customerId":"${'x'.repeat(3_000)}","items":[]}`, parsed: undefined as unknown }),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/xml',
);
const key = fc.oneof(
  { arbitrary: fc.uuid().map((u) => `"${u}"`), weight: 4 },
  fc.constant(undefined),
  fc.constantFrom('""', '"a\\"b"', 'x'.repeat(300)),
);

function parsedJson(text: string): { ok: boolean; value: unknown } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, value: undefined };
  }
}

describe('bad input (property)', () => {
  let app: HttpServer;
  let pool: Pool;
  let handled = 0;
  let storeWrites = 0;

  beforeAll(async () => {
    const inner = createMemoryIdempotencyStore();
    const store: IdempotencyStore = {
      ...inner,
      begin: (claim) => {
        storeWrites++;
        return inner.begin(claim);
      },
    };
    app = await createHttpServer({ bodyLimitBytes: 2_048, idempotency: { store } });
    app.post(
      '/orders',
      { schema: { body: Order }, config: { idempotency: true } },
      async (_request, reply) => {
        handled++;
        return reply.code(201).send({ id: `o-${handled}` });
      },
    );
    pool = new Pool(await listen(app), { connections: 8 });
  });
  afterAll(async () => {
    await pool.close();
    await app.close();
  });

  it('answers every random payload with 201 exactly when it is valid, else a 4xx problem+json, writing nothing', async () => {
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(body, contentType, key, async (b, type, k) => {
        const beforeHandled = handled;
        const beforeWrites = storeWrites;
        const res = await pool.request({
          method: 'POST',
          path: '/orders',
          headers: { 'content-type': type, ...(k === undefined ? {} : { 'idempotency-key': k }) },
          body: b.text,
        });
        const text = await res.body.text();
        const json = type.startsWith('application/json')
          ? parsedJson(b.text)
          : { ok: false, value: undefined };
        const goodKey = k !== undefined && /^"[0-9a-f-]{36}"$/.test(k);
        const expectValid =
          json.ok && isValidOrder(json.value) && goodKey && Buffer.byteLength(b.text) <= 2_048;
        if (expectValid) {
          valid++;
          expect(res.statusCode).toBe(201);
          expect(handled).toBe(beforeHandled + 1);
          return;
        }
        expect(res.statusCode).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
        expect(res.headers['content-type']).toContain('application/problem+json');
        const problem = JSON.parse(text) as {
          code: string;
          reason: string;
          status: number;
          errors?: unknown[];
        };
        expect(problem.code).toBe('invalid_argument');
        expect(problem.status).toBe(res.statusCode);
        expect(problem.errors?.length).toBeGreaterThan(0);
        expect(handled).toBe(beforeHandled);
        // A request rejected before its key was checked never touches the store.
        expect(storeWrites).toBe(beforeWrites);
      }),
      { numRuns: 300 },
    );
    // The generators do reach the valid path, and the server still serves.
    expect(valid).toBeGreaterThan(0);
    const ok = await pool.request({
      method: 'POST',
      path: '/orders',
      headers: { 'content-type': 'application/json', 'idempotency-key': '"final"' },
      body: JSON.stringify({ customerId: 'c', items: [{ productId: 'p', quantity: 1 }] }),
    });
    await ok.body.dump();
    expect(ok.statusCode).toBe(201);
  });
});
