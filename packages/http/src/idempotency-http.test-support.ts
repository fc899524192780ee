import { Type } from '@fastify/type-provider-typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, raw } from './http.test-support.js';
import { createHttpServer, type HttpServer } from './http-server.js';
import type { IdempotencyStore } from './idempotency-store.js';

/** One store per server instance (all sharing one database, or one memory store), and a cleanup. */
export interface SharedStores {
  readonly stores: readonly IdempotencyStore[];
  readonly dispose: () => Promise<void>;
}

const OrderBody = Type.Object(
  { sku: Type.String({ minLength: 1 }), quantity: Type.Integer({ minimum: 1 }) },
  { additionalProperties: false },
);

/**
 * 20 parallel HTTP requests with one Idempotency-Key, spread over every
 * server instance, run the handler exactly once.
 */
export function idempotencyConcurrency(name: string, create: () => Promise<SharedStores>): void {
  describe(`idempotency over HTTP: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    it('runs the handler exactly once for 20 parallel requests with one key, and replays the result', async () => {
      const { stores, dispose } = await create();
      cleanups.push(dispose);
      let runs = 0;
      const origins: string[] = [];
      for (const store of stores) {
        const app: HttpServer = await createHttpServer({ idempotency: { store } });
        app.post(
          '/orders',
          { schema: { body: OrderBody }, config: { idempotency: true } },
          async (request, reply) => {
            runs++;
            await new Promise((r) => setTimeout(r, 25)); // keep the first request in flight a little
            return reply
              .code(201)
              .header('location', '/orders/o-1')
              .send({ id: 'o-1', ...request.body });
          },
        );
        origins.push(await listen(app));
        cleanups.push(() => app.close());
      }
      const send = (i: number) =>
        raw(`${origins[i % origins.length]}/orders`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': '"k-parallel"',
            'sluice-caller': 'shop',
          },
          body: JSON.stringify({ sku: 'sku-1', quantity: 2 }),
        });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => send(i)));
      expect(runs).toBe(1);
      const created = results.filter((r) => r.status === 201);
      const conflicts = results.filter((r) => r.status === 409);
      expect(created.length + conflicts.length).toBe(20);
      expect(created.length).toBeGreaterThanOrEqual(1);
      for (const r of created) expect(r.body).toEqual({ id: 'o-1', sku: 'sku-1', quantity: 2 });
      for (const r of conflicts)
        expect(r.body).toMatchObject({ code: 'aborted', reason: 'HTTP_IDEMPOTENCY_KEY_IN_FLIGHT' });

      // Once settled, every instance replays the stored response.
      for (let i = 0; i < origins.length; i++) {
        const again = await send(i);
        expect(again.status).toBe(201);
        expect(again.headers['idempotent-replayed']).toBe('true');
        expect(again.headers.location).toBe('/orders/o-1');
        expect(again.body).toEqual({ id: 'o-1', sku: 'sku-1', quantity: 2 });
      }
      expect(runs).toBe(1);
    });
  });
}
