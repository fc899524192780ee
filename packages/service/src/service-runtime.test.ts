import { bulkhead, circuitBreaker, pipeline } from '@sluice/resilience';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createServiceRuntime, type ServiceRuntime } from './service-runtime.js';

describe('createServiceRuntime', () => {
  let rt: ServiceRuntime | undefined;
  afterEach(async () => {
    await rt?.shutdown();
    rt = undefined;
  });

  it('serves health, metrics with per-route counts, and runs shutdown hooks once', async () => {
    rt = await createServiceRuntime({ name: 'probe', logLevel: 'silent' });
    rt.app.get('/hello', async () => ({ hi: true }));
    let hooks = 0;
    rt.onShutdown(() => hooks++);
    const url = await rt.listen(0);
    expect((await request(`${url}/healthz`)).statusCode).toBe(200);
    await (await request(`${url}/hello`)).body.json();
    const metrics = await (await request(`${url}/metrics`)).body.text();
    expect(metrics).toMatch(/sluice_http_requests_total\{[^}]*route="\/hello"[^}]*\} 1/);
    await Promise.all([rt.shutdown(), rt.shutdown()]);
    expect(hooks).toBe(1);
  });

  it('lets an operator add, list and clear faults, refusing malformed ones', async () => {
    rt = await createServiceRuntime({ name: 'probe', logLevel: 'silent' });
    const url = await rt.listen(0);
    const add = await request(`${url}/admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'x.*', kind: 'latency', latencyMs: 50 }),
    });
    expect(add.statusCode).toBe(201);
    const bad = await request(`${url}/admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'x', kind: 'boom' }),
    });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { reason: string }).reason).toBe('SERVICE_INVALID_FAULT');
    const list = (await (await request(`${url}/admin/faults`)).body.json()) as { items: unknown[] };
    expect(list.items).toHaveLength(1);
    expect(rt.faults.inject('x.y')).toBeDefined();
    const cleared = await (await request(`${url}/admin/faults`, { method: 'DELETE' })).body.json();
    expect(cleared).toEqual({ cleared: 1 });
  });

  it('reports registered downstream policies at /admin/resilience and in /metrics', async () => {
    rt = await createServiceRuntime({ name: 'probe', logLevel: 'silent' });
    const breaker = circuitBreaker({ name: 'inventory' });
    breaker.isolate();
    rt.registerPolicy('inventory', pipeline(bulkhead({ maxConcurrent: 2 }), breaker));
    const url = await rt.listen(0);
    const body = (await (await request(`${url}/admin/resilience`)).body.json()) as {
      downstreams: { downstream: string; metrics: unknown }[];
    };
    expect(body.downstreams[0]?.downstream).toBe('inventory');
    expect(JSON.stringify(body.downstreams[0]?.metrics)).toMatch(/isolated/);
    expect(await (await request(`${url}/metrics`)).body.text()).toMatch(/inventory/);
  });

  it('requires the admin token when one is configured', async () => {
    rt = await createServiceRuntime({ name: 'probe', logLevel: 'silent', adminToken: 's3cret' });
    const url = await rt.listen(0);
    const denied = await request(`${url}/admin/faults`);
    expect(denied.statusCode).toBe(403);
    await denied.body.dump();
    const ok = await request(`${url}/admin/faults`, { headers: { authorization: 'Bearer s3cret' } });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
  });
});
