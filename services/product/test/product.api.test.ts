import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProductService } from '../src/app.js';
import { readConfig } from '../src/config.js';

describe('product service over HTTP', () => {
  let url: string;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    const service = await createProductService(
      readConfig({ SLUICE_DB: 'sqlite::memory:', LOG_LEVEL: 'silent' }),
    );
    url = await service.listen(0);
    stop = () => service.shutdown();
  });
  afterAll(() => stop());

  const get = async (path: string) => {
    const res = await request(url + path);
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };

  it('lists the seeded catalog with prices in minor units', async () => {
    const { status, body } = await get('/api/v1/products');
    expect(status).toBe(200);
    const items = body.items as { id: string; price: { amount: number; currency: string } }[];
    expect(items.length).toBeGreaterThanOrEqual(12);
    expect(items.find((p) => p.id === 'mug')).toMatchObject({
      price: { amount: 1299, currency: 'USD' },
      imageUrl: '/images/mug.svg',
    });
  });

  it('answers a batch look-up with the products that exist', async () => {
    const { status, body } = await get('/api/v1/products:batch?ids=mug,nope,kettle');
    expect(status).toBe(200);
    expect((body.items as { id: string }[]).map((p) => p.id).sort()).toEqual(['kettle', 'mug']);
    expect((await get('/api/v1/productsXbatch?ids=mug')).status).toBe(404);
  });

  it('answers an unknown product with a problem+json 404', async () => {
    const { status, body } = await get('/api/v1/products/nope');
    expect(status).toBe(404);
    expect(body).toMatchObject({ code: 'not_found', reason: 'PRODUCT_NOT_FOUND' });
  });

  it('serves the subgraph with its federation SDL', async () => {
    const res = await request(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ _service { sdl } product(id: "kettle") { name } }' }),
    });
    const body = (await res.body.json()) as {
      data: { _service: { sdl: string }; product: { name: string } };
    };
    expect(body.data.product.name).toBe('Stovetop Kettle');
    expect(body.data._service.sdl).toContain('@key(fields: "id")');
  });

  it('refuses malformed queries and GraphQL bodies with 400, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ limit: fc.oneof(fc.string(), fc.integer()), after: fc.string() }, { requiredKeys: [] }),
        async (q) => {
          const qs = new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)]));
          const { status } = await get(`/api/v1/products?${qs}`);
          expect([200, 400]).toContain(status);
        },
      ),
      { numRuns: 40 },
    );
    for (const body of [
      '{',
      '{"query": 1}',
      '{"query": "{ nope }"}',
      '{"query": "{ products { id } }", "variables": [1]}',
    ]) {
      const res = await request(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.statusCode).toBe(400);
      await res.body.dump();
    }
    expect((await get('/healthz')).status).toBe(200);
  });
});
