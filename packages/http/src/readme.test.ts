import { Type } from '@fastify/type-provider-typebox';
import { isSluiceError } from '@sluice/errors';
import { afterAll, describe, expect, it } from 'vitest';
import { listen, pgSchema } from './http.test-support.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import { createHttpServer, type HttpServer } from './http-server.js';
import { createMemoryIdempotencyStore } from './memory-idempotency-store.js';

// The README's examples, as written there (a port of 0 instead of 3001).
describe('README', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('runs the server and client examples: one reservation for one key, errors as SluiceError', async () => {
    const db = await pgSchema();
    cleanups.push(db.dispose);
    const pool = db.pool;

    // --- Server example
    const app: HttpServer = await createHttpServer({
      idempotency: { store: createMemoryIdempotencyStore() },
      openapi: { title: 'Inventory', version: '1.0.0' },
    });
    app.readiness.add('postgres', () => pool.query('select 1'));
    const Reservation = Type.Object(
      { productId: Type.String({ minLength: 1 }), quantity: Type.Integer({ minimum: 1 }) },
      { additionalProperties: false },
    );
    let handled = 0;
    app.post(
      '/api/v1/inventory/reservations',
      { schema: { body: Reservation }, config: { idempotency: true } },
      async (request, reply) => {
        handled++;
        return reply.code(201).send({ reservationId: 'r-1', ...request.body });
      },
    );
    const origin = await listen(app);
    cleanups.push(() => app.shutdown());

    // --- Client example
    const inventory: HttpClient = createHttpClient({ origin, caller: 'order', resilience: true });
    cleanups.push(() => inventory.close());
    const { status, body } = await inventory.post<{ reservationId: string }>(
      '/api/v1/inventory/reservations',
      { productId: 'sku-1', quantity: 2 },
      { idempotencyKey: 'order-42:reserve', timeoutMs: 2_000 },
    );
    expect(status).toBe(201);
    expect(body).toEqual({ reservationId: 'r-1', productId: 'sku-1', quantity: 2 });

    // A retry with the same key is replayed, not run again.
    const again = await inventory.post(
      '/api/v1/inventory/reservations',
      { productId: 'sku-1', quantity: 2 },
      { idempotencyKey: 'order-42:reserve' },
    );
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(handled).toBe(1);

    // Bad input rejects with a SluiceError carrying the field detail.
    const error = await inventory
      .post(
        '/api/v1/inventory/reservations',
        { productId: 'sku-1', quantity: '2' },
        { idempotencyKey: 'k-2' },
      )
      .catch((e: unknown) => e);
    expect(isSluiceError(error) && error.code).toBe('invalid_argument');
    expect(isSluiceError(error) && error.violations).toEqual([
      { field: 'body.quantity', message: 'must be integer' },
    ]);

    expect((await inventory.get('/readyz')).body).toMatchObject({ status: 'ready' });
    expect((await inventory.get<{ info: { title: string } }>('/openapi.json')).body.info.title).toBe(
      'Inventory',
    );
  });
});
