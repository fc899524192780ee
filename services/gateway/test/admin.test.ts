import path from 'node:path';
import { createHttpServer } from '@sluice/http';
import { createTransport, type Transport } from '@sluice/messaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../src/infrastructure/jwt.js';
import {
  startGateway,
  startOrderFixture,
  startProductService,
  tempDir,
  until,
} from './gateway.test-support.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions themselves
type Json = any;
const json = async (res: Response): Promise<Json> => res.json();

const SECRET = 'admin-test-secret-0123456789abcdef0123456789';
const ADMIN_TOKEN = 'operator-token-for-tests';

describe('gateway operator API', () => {
  const dir = tempDir();
  let product: Awaited<ReturnType<typeof startProductService>>;
  let order: Awaited<ReturnType<typeof startOrderFixture>>;
  let orchestrator: Awaited<ReturnType<typeof createHttpServer>>;
  const sagaCalls: { url: string; authorization: unknown }[] = [];
  let gw: Awaited<ReturnType<typeof startGateway>>;
  let transport: Transport;
  let token: string;

  const call = (p: string, init: RequestInit = {}) =>
    fetch(`${gw.url}${p}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
    });

  beforeAll(async () => {
    [product, order] = await Promise.all([
      startProductService(dir, undefined, { SLUICE_ADMIN_TOKEN: ADMIN_TOKEN }),
      startOrderFixture(),
    ]);
    // A stand-in orchestrator with the operator routes' shapes (the lead adds the real ones).
    orchestrator = await createHttpServer({ openapi: false });
    orchestrator.addHook('onRequest', async (request) => {
      sagaCalls.push({ url: request.url, authorization: request.headers.authorization });
    });
    orchestrator.get('/admin/sagas', async () => ({ items: [{ sagaId: 's1', state: 'needs_attention' }] }));
    orchestrator.get('/admin/sagas/:id', async (request) => ({
      sagaId: (request.params as { id: string }).id,
      state: 'needs_attention',
      history: [],
    }));
    orchestrator.post('/admin/sagas/:id/retry', async (request) => ({
      sagaId: (request.params as { id: string }).id,
      state: 'running',
    }));
    orchestrator.post('/admin/sagas/:id/resolve', async (request) => ({
      sagaId: (request.params as { id: string }).id,
      state: 'resolved',
      note: (request.body as { note: string }).note,
    }));
    const orchestratorUrl = await orchestrator.listen({ port: 0, host: '127.0.0.1' });
    gw = await startGateway(dir, {
      PRODUCT_URL: product.url,
      ORDER_URL: order.url,
      ORCHESTRATOR_URL: orchestratorUrl,
      SLUICE_JWT_SECRET: SECRET,
      SLUICE_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    transport = await createTransport(`sqlite:${path.join(dir, 'bus.db')}`);
    token = await issueToken(SECRET, { sub: 'ops', role: 'admin' });
  }, 90_000);
  afterAll(async () => {
    await transport?.close();
    await gw?.service.shutdown();
    await orchestrator?.close();
    await order?.close();
    await product?.stop();
  });

  it('adds, lists and clears faults on the real product service, naming the service', async () => {
    const added = await call('/api/v1/admin/faults', {
      method: 'POST',
      body: JSON.stringify({
        service: 'product',
        target: 'http:GET /api/v1/products',
        kind: 'latency',
        latencyMs: 5,
      }),
    });
    expect(added.status).toBe(201);
    const fault = await json(added);
    expect(fault).toMatchObject({
      service: 'product',
      id: expect.any(String),
      kind: 'latency',
      latencyMs: 5,
    });
    // The product service itself holds it (reached with the operator token).
    const direct = await fetch(`${product.url}/admin/faults`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect((await json(direct)).items).toHaveLength(1);

    const listed = await json(await call('/api/v1/admin/faults'));
    expect(listed.items).toEqual([{ ...fault }]);
    // Every other service failed to answer (not running, or a fixture without fault routes).
    expect(listed.unreachable.map((u: { service: string }) => u.service).sort()).toEqual([
      'inventory',
      'notification',
      'orchestrator',
      'order',
      'payment',
    ]);

    const bad = await call('/api/v1/admin/faults', {
      method: 'POST',
      body: JSON.stringify({ service: 'product', target: 'x', kind: 'explode' }),
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).reason).toBe('SERVICE_INVALID_FAULT');
    const unknown = await call('/api/v1/admin/faults', {
      method: 'POST',
      body: JSON.stringify({ service: 'warehouse', target: 'x', kind: 'hang' }),
    });
    expect(unknown.status).toBe(400);
    expect((await json(unknown)).reason).toBe('GATEWAY_UNKNOWN_SERVICE');

    const cleared = await json(await call('/api/v1/admin/faults?service=product', { method: 'DELETE' }));
    expect(cleared.cleared).toBe(1);
    expect((await json(await call('/api/v1/admin/faults?service=product'))).items).toEqual([]);
  });

  it('lists, shows and replays dead letters of the broker', async () => {
    const topic = 'email.send';
    const group = 'default';
    await transport.declareGroup(topic, group);
    const body = new TextEncoder().encode(JSON.stringify({ to: 'not-an-address', subject: 'hi' }));
    await transport.publish(topic, [
      { id: 'm-poison', body, headers: { 'content-type': 'application/json' } },
    ]);
    const deliveries: number[] = [];
    const consumer = await transport.consume(topic, group, async (d) => {
      deliveries.push(d.attempt);
      if (deliveries.length === 1)
        await d.deadLetter({ error: 'invalid address', reason: 'NOTIFICATION_INVALID_ADDRESS' });
      else await d.ack();
    });
    try {
      await until(
        async () => (await transport.deadLetters.count({ topic })) === 1,
        20_000,
        'the dead letter',
      );
      const list = await json(await call(`/api/v1/admin/dlq?topic=${topic}&limit=10`));
      expect(list.total).toBe(1);
      expect(list.items[0]).toMatchObject({
        id: 'm-poison',
        topic,
        group,
        reason: 'NOTIFICATION_INVALID_ADDRESS',
        error: 'invalid address',
        attempts: 1,
        payload: { to: 'not-an-address', subject: 'hi' },
      });
      const shown = await json(await call(`/api/v1/admin/dlq/${topic}/${group}/m-poison`));
      expect(shown.headers).toEqual({ 'content-type': 'application/json' });
      expect((await call(`/api/v1/admin/dlq/${topic}/${group}/nope`)).status).toBe(404);

      const status = await json(await call('/api/v1/admin/status'));
      expect(status.broker.deadLetters).toBe(1);
      expect(status.broker.groups).toContainEqual(expect.objectContaining({ topic, group, deadLettered: 1 }));

      const replayed = await json(
        await call('/api/v1/admin/dlq/replay', {
          method: 'POST',
          body: JSON.stringify({ topic, ids: ['m-poison'] }),
        }),
      );
      expect(replayed).toEqual({ replayed: 1 });
      await until(() => deliveries.length === 2, 20_000, 'the replayed delivery');
      expect(deliveries).toEqual([1, 1]);
      expect((await json(await call('/api/v1/admin/dlq'))).items).toEqual([]);
      const badReplay = await call('/api/v1/admin/dlq/replay', {
        method: 'POST',
        body: JSON.stringify({ topic: '../x' }),
      });
      expect(badReplay.status).toBe(400);
    } finally {
      await consumer.stop();
    }
  });

  it('reports every service’s health, readiness and resilience in one status', async () => {
    const status = await json(await call('/api/v1/admin/status'));
    const by = Object.fromEntries(status.services.map((s: { service: string }) => [s.service, s]));
    expect(by.gateway.resilience.map((d: { downstream: string }) => d.downstream)).toContain('inventory');
    expect(by.product).toMatchObject({ healthy: true, ready: true });
    expect(by.product.resilience.service).toBe('product');
    expect(by.inventory).toMatchObject({ healthy: false, ready: false });
    expect(status.broker.kind).toBe('embedded');
  });

  it('proxies the orchestrator’s saga operator routes with the operator token', async () => {
    expect((await json(await call('/api/v1/admin/sagas?state=needs_attention'))).items).toEqual([
      { sagaId: 's1', state: 'needs_attention' },
    ]);
    expect((await json(await call('/api/v1/admin/sagas/s1'))).sagaId).toBe('s1');
    expect(await json(await call('/api/v1/admin/sagas/s1/retry', { method: 'POST', body: '{}' }))).toEqual({
      sagaId: 's1',
      state: 'running',
    });
    const resolved = await call('/api/v1/admin/sagas/s1/resolve', {
      method: 'POST',
      body: JSON.stringify({ note: 'refunded by hand' }),
    });
    expect(await json(resolved)).toEqual({ sagaId: 's1', state: 'resolved', note: 'refunded by hand' });
    const sagaOnly = sagaCalls.filter((c) => c.url.startsWith('/admin/sagas'));
    expect(sagaOnly.map((c) => c.url)).toEqual([
      '/admin/sagas?state=needs_attention',
      '/admin/sagas/s1',
      '/admin/sagas/s1/retry',
      '/admin/sagas/s1/resolve',
    ]);
    expect(sagaOnly.every((c) => c.authorization === `Bearer ${ADMIN_TOKEN}`)).toBe(true);
  });
});
