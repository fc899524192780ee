import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inventoryV1 } from '@sluice/contracts';
import { SluiceError } from '@sluice/errors';
import { circuitBreaker, pipeline, retry } from '@sluice/resilience';
import { describe, expect, it } from 'vitest';
import {
  bearerAuthInterceptor,
  bearerTokenInterceptor,
  bindService,
  createConnectHandler,
  createGrpcChannel,
  createGrpcClient,
  createGrpcServer,
  resilienceInterceptor,
  tracingInterceptor,
} from './index.js';

// The README's examples, run as written.
describe('README', () => {
  it('serves an InventoryService and calls it with interceptors, errors and a stream', async () => {
    const stock = new Map([['sku-1', 5]]);
    const impl = {
      checkAvailability(req: inventoryV1.CheckAvailabilityRequest) {
        const current = stock.get(req.productId);
        if (current === undefined) {
          throw new SluiceError({
            code: 'not_found',
            reason: 'INVENTORY_PRODUCT_NOT_FOUND',
            message: `no ${req.productId}`,
          });
        }
        return { productId: req.productId, available: current >= req.quantity, currentStock: current };
      },
      async *watchInventory(req: inventoryV1.WatchInventoryRequest) {
        for (const id of req.productIds) yield { productId: id, availableStock: stock.get(id) ?? 0 };
      },
    };
    const server = createGrpcServer({
      interceptors: [tracingInterceptor(), bearerAuthInterceptor({ verify: (token) => token === 's3cret' })],
    });
    server.add(inventoryV1.InventoryService, impl);
    const port = await server.listen('127.0.0.1:0');

    const channel = createGrpcChannel({ address: `127.0.0.1:${port}` });
    const inventory = createGrpcClient(inventoryV1.InventoryService, channel, {
      interceptors: [
        tracingInterceptor(),
        bearerTokenInterceptor('s3cret'),
        resilienceInterceptor(pipeline(circuitBreaker(), retry({ maxAttempts: 3 }))),
      ],
    });

    const res = await inventory.checkAvailability({ productId: 'sku-1', quantity: 2 }, { timeoutMs: 500 });
    expect(res.available).toBe(true);
    await expect(inventory.checkAvailability({ productId: 'sku-9', quantity: 1 })).rejects.toMatchObject({
      code: 'not_found',
      reason: 'INVENTORY_PRODUCT_NOT_FOUND',
    });
    const invalid = await inventory.checkAvailability({ productId: '', quantity: 0 }).catch((e) => e);
    expect((invalid as SluiceError).violations.map((v) => v.field)).toEqual(['product_id', 'quantity']);
    const updates = [];
    for await (const update of inventory.watchInventory({ productIds: ['sku-1'] }))
      updates.push(update.availableStock);
    expect(updates).toEqual([5]);

    // The same implementation at the edge: Connect JSON over HTTP/1.1, as curl sends it.
    const edge = http.createServer(
      createConnectHandler({ services: [bindService(inventoryV1.InventoryService, impl)] }),
    );
    await new Promise<void>((r) => edge.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(edge.address() as AddressInfo).port}/sluice.inventory.v1.InventoryService/CheckAvailability`;
    const curl = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ productId: 'sku-1', quantity: 2 }),
    });
    expect(await curl.json()).toEqual({ productId: 'sku-1', available: true, currentStock: 5 });
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ productId: '', quantity: 0 }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'invalid_argument' });
    edge.close();

    channel.close();
    await server.shutdown();
  });
});
