// The Connect edge: the same implementation, its deadline and validation, over Connect and gRPC-Web.
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { inventoryV1 } from '@sluice/contracts';
import { currentDeadline } from '@sluice/resilience';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestSchema } from './gen/google/rpc/error_details_pb.js';
import { bindService, createConnectHandler } from './index.js';
import { TestService } from './testing/test-service.test-support.js';

describe('createConnectHandler', () => {
  let server: http2.Http2Server;
  let baseUrl: string;
  beforeAll(async () => {
    server = http2.createServer(
      createConnectHandler({
        services: [
          bindService(TestService, {
            async *streamingOutputCall(_req, ctx) {
              await new Promise((r) => setImmediate(r));
              yield { index: BigInt(Math.round(currentDeadline()?.remaining() ?? -1)) };
              yield { index: BigInt(Math.round(ctx.deadline?.remaining() ?? -1)) };
            },
            unaryCall: async () => {
              await new Promise((r) => setImmediate(r));
              return { deadlineRemainingMs: BigInt(Math.round(currentDeadline()?.remaining() ?? -1)) };
            },
          }),
          bindService(inventoryV1.InventoryService, {
            checkAvailability: (req) => ({ productId: req.productId, available: true, currentStock: 1 }),
          }),
        ],
      }),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  it('makes the caller’s timeout the current deadline of unary and streaming handlers', async () => {
    const client = createClient(TestService, createConnectTransport({ baseUrl, httpVersion: '2' }));
    const unary = await client.unaryCall({}, { timeoutMs: 4_000 });
    expect(Number(unary.deadlineRemainingMs)).toBeGreaterThan(0);
    expect(Number(unary.deadlineRemainingMs)).toBeLessThanOrEqual(4_000);
    const seen: number[] = [];
    for await (const r of client.streamingOutputCall({}, { timeoutMs: 4_000 })) seen.push(Number(r.index));
    expect(seen).toHaveLength(2);
    for (const ms of seen) {
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(4_000);
    }
  });

  it('answers a violating request with INVALID_ARGUMENT and every field in a BadRequest detail', async () => {
    const client = createClient(
      inventoryV1.InventoryService,
      createConnectTransport({ baseUrl, httpVersion: '2' }),
    );
    const err = await client.checkAvailability({ productId: '', quantity: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.code).toBe(Code.InvalidArgument);
    expect(
      err.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v: { field: string }) => v.field),
    ).toEqual(['product_id', 'quantity']);
    const ok = await client.checkAvailability({ productId: 'sku-1', quantity: 1 });
    expect(ok.available).toBe(true);
  });

  it('answers malformed JSON with INVALID_ARGUMENT and keeps serving', async () => {
    const url = `${baseUrl}/sluice.inventory.v1.InventoryService/CheckAvailability`;
    const session = http2.connect(baseUrl);
    const post = (body: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = session.request({
          ':method': 'POST',
          ':path': new URL(url).pathname,
          'content-type': 'application/json',
        });
        let status = 0;
        let data = '';
        req.on('response', (h) => {
          status = Number(h[':status']);
        });
        req.on('data', (d) => {
          data += d;
        });
        req.on('end', () => resolve({ status, body: data }));
        req.on('error', reject);
        req.end(body);
      });
    const bad = await post('{"productId": 12, "quantity": ');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'invalid_argument' });
    const good = await post('{"productId":"sku-1","quantity":1}');
    expect(good.status).toBe(200);
    session.close();
  });
});
