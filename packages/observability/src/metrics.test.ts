import { isSluiceError } from '@sluice/errors';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { sample } from './exposition.test-support.js';
import { createMetrics, grpcCodeName, ObservabilityReasons, renderMetrics } from './index.js';

describe('createMetrics', () => {
  it('counts HTTP requests and observes latency by side, method, route and status', async () => {
    let now = 1_000;
    const metrics = createMetrics({ now: () => now, defaultLabels: { service: 'order' } });
    const done = metrics.startHttpTimer({ side: 'server', method: 'post', route: '/api/v1/orders' });
    now += 30; // 30 ms
    done(201);
    metrics.observeHttpRequest({
      side: 'client',
      method: 'GET',
      route: 'inventory:/stock/:id',
      status: 503,
      durationMs: 700,
    });
    metrics.observeHttpRequest({
      side: 'client',
      method: 'GET',
      route: 'inventory:/stock/:id',
      status: 503,
      durationMs: 20,
    });
    const { body, contentType } = await renderMetrics(metrics);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('# TYPE sluice_http_requests_total counter');
    expect(body).toContain('# TYPE sluice_http_request_duration_seconds histogram');
    const server = {
      side: 'server',
      method: 'POST',
      route: '/api/v1/orders',
      status: '201',
      service: 'order',
    };
    expect(sample(body, 'sluice_http_requests_total', server)).toBe(1);
    expect(sample(body, 'sluice_http_request_duration_seconds_sum', server)).toBeCloseTo(0.03);
    expect(sample(body, 'sluice_http_request_duration_seconds_bucket', { ...server, le: '0.025' })).toBe(0);
    expect(sample(body, 'sluice_http_request_duration_seconds_bucket', { ...server, le: '0.05' })).toBe(1);
    const client = { side: 'client', route: 'inventory:/stock/:id', status: '503' };
    expect(sample(body, 'sluice_http_requests_total', client)).toBe(2);
    expect(sample(body, 'sluice_http_request_duration_seconds_bucket', { ...client, le: '0.025' })).toBe(1);
    expect(sample(body, 'sluice_http_request_duration_seconds_bucket', { ...client, le: '1' })).toBe(2);
  });

  it('records gRPC calls with the status name', async () => {
    const metrics = createMetrics({ prefix: 'shop_' });
    const call = {
      side: 'server',
      service: 'inventory.v1.InventoryService',
      method: 'ReserveStock',
    } as const;
    metrics.observeGrpcCall({ ...call, code: 0, durationMs: 2 });
    metrics.observeGrpcCall({ ...call, code: 14, durationMs: 5 });
    metrics.observeGrpcCall({ ...call, code: 'unavailable', durationMs: 5 });
    metrics.startGrpcTimer(call)('DEADLINE_EXCEEDED');
    const { body } = await renderMetrics(metrics.registry);
    expect(sample(body, 'shop_grpc_requests_total', { code: 'OK' })).toBe(1);
    expect(sample(body, 'shop_grpc_requests_total', { code: 'UNAVAILABLE', method: 'ReserveStock' })).toBe(2);
    expect(sample(body, 'shop_grpc_requests_total', { code: 'DEADLINE_EXCEEDED' })).toBe(1);
    expect(sample(body, 'shop_grpc_request_duration_seconds_count', { code: 'UNAVAILABLE' })).toBe(2);
    expect(body).not.toContain('sluice_');
    expect([grpcCodeName(16), grpcCodeName(99), grpcCodeName('nope'), grpcCodeName('not_found')]).toEqual([
      'UNAUTHENTICATED',
      'UNKNOWN',
      'UNKNOWN',
      'NOT_FOUND',
    ]);
  });

  it('records messages published and handled, and saga states and steps', async () => {
    const metrics = createMetrics();
    metrics.recordPublish({ system: 'nats', destination: 'orders', ok: true });
    metrics.recordPublish({ system: 'nats', destination: 'orders', ok: false });
    metrics.observeMessage({ system: 'nats', destination: 'orders', outcome: 'ack', durationMs: 4 });
    metrics.observeMessage({ system: 'nats', destination: 'orders', outcome: 'dead_letter', durationMs: 9 });
    for (const state of ['started', 'started', 'completed', 'compensated'])
      metrics.recordSagaState({ saga: 'order', state });
    metrics.observeSagaStep({ saga: 'order', step: 'reserve-stock', outcome: 'completed', durationMs: 12 });
    const { body } = await renderMetrics(metrics);
    expect(sample(body, 'sluice_messages_published_total', { outcome: 'ok' })).toBe(1);
    expect(sample(body, 'sluice_messages_published_total', { outcome: 'error' })).toBe(1);
    expect(sample(body, 'sluice_messages_handled_total', { outcome: 'dead_letter' })).toBe(1);
    expect(sample(body, 'sluice_message_handling_duration_seconds_count', { outcome: 'ack' })).toBe(1);
    expect(sample(body, 'sluice_saga_transitions_total', { saga: 'order', state: 'started' })).toBe(2);
    expect(sample(body, 'sluice_saga_transitions_total', { state: 'compensated' })).toBe(1);
    expect(sample(body, 'sluice_saga_step_duration_seconds_sum', { step: 'reserve-stock' })).toBeCloseTo(
      0.012,
    );
  });

  it('shares the instruments of one registry between createMetrics calls', async () => {
    const registry = new Registry();
    const a = createMetrics({ registry });
    const b = createMetrics({ registry });
    a.observeHttpRequest({ side: 'server', method: 'GET', route: '/', status: 200, durationMs: 1 });
    b.observeHttpRequest({ side: 'server', method: 'GET', route: '/', status: 200, durationMs: 1 });
    expect(sample(await registry.metrics(), 'sluice_http_requests_total', { route: '/' })).toBe(2);
  });

  it('adds the process metrics on request', async () => {
    const { body } = await renderMetrics(createMetrics({ processMetrics: true }));
    expect(body).toContain('sluice_process_cpu_seconds_total');
    expect(body).toContain('sluice_nodejs_eventloop_lag_seconds');
  });

  it('rejects a bad prefix or buckets with invalid_argument', () => {
    for (const bad of [
      () => createMetrics({ prefix: 'has-dash_' }),
      () => createMetrics({ prefix: '9lives_' }),
      () => createMetrics({ durationBuckets: [] }),
      () => createMetrics({ durationBuckets: [0.1, 0.05] }),
      () => createMetrics({ durationBuckets: [0, 1] }),
    ]) {
      let error: unknown;
      try {
        bad();
      } catch (e) {
        error = e;
      }
      expect(isSluiceError(error) && error.reason).toBe(ObservabilityReasons.OBSERVABILITY_INVALID_OPTION);
    }
    expect(createMetrics({ prefix: '' }).prefix).toBe('');
  });
});

describe('recorders under arbitrary input', () => {
  it('never throw, and the exposition stays well-formed and counts every call', async () => {
    const metrics = createMetrics();
    let calls = 0;
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.oneof(fc.integer(), fc.string()),
        fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -1)),
        (method, route, status, durationMs) => {
          metrics.observeHttpRequest({ side: 'server', method, route, status, durationMs });
          metrics.observeGrpcCall({ side: 'client', service: route, method, code: status, durationMs });
          calls++;
        },
      ),
    );
    const { body } = await renderMetrics(metrics);
    let total = 0;
    for (const line of body.split('\n')) {
      if (line.startsWith('sluice_http_requests_total{'))
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    expect(total).toBe(calls);
    // Every sample value parses: label escaping kept quotes and newlines inside the braces.
    for (const line of body.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      expect(Number.isNaN(Number(line.slice(line.lastIndexOf(' ') + 1)))).toBe(false);
    }
  });
});
