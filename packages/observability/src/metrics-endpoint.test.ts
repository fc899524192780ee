import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSluiceError } from '@sluice/errors';
import { Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindQueueMetrics,
  createMetrics,
  type Metrics,
  metricsHandler,
  ObservabilityReasons,
  type QueueStats,
  renderMetrics,
} from './index.js';

function request(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metricsHandler on a real node:http server', () => {
  let metrics: Metrics;
  let server: http.Server;
  let url = '';
  beforeAll(async () => {
    metrics = createMetrics();
    server = http.createServer(metricsHandler(metrics));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('serves the text exposition on GET, headers only on HEAD, 405 otherwise', async () => {
    metrics.observeHttpRequest({ side: 'server', method: 'GET', route: '/x', status: 200, durationMs: 3 });
    const res = await request(url);
    expect(res.status).toBe(200);
    expect(res.type).toBe((await renderMetrics(metrics)).contentType);
    expect(res.body).toContain(
      'sluice_http_requests_total{side="server",method="GET",route="/x",status="200"} 1',
    );
    expect((await request(url, 'HEAD')).body).toBe('');
    expect((await request(url, 'POST')).status).toBe(405);
  });

  it('answers 500 when a collector throws, and serves again once it is gone', async () => {
    const broken = new Gauge({
      name: 'broken_gauge',
      help: 'throws on collect',
      registers: [metrics.registry],
      collect() {
        throw new Error('disk gone');
      },
    });
    const res = await request(url);
    expect(res.status).toBe(500);
    expect(res.body).toContain('disk gone');
    metrics.registry.removeSingleMetric('broken_gauge');
    expect(broken).toBeDefined();
    expect((await request(url)).status).toBe(200);
  });
});

describe('bindQueueMetrics', () => {
  it('reads depth, in-flight and dead letters from the callback at each scrape, once per scrape', async () => {
    const metrics = createMetrics();
    let calls = 0;
    let stats: QueueStats[] = [{ queue: 'email.send', depth: 7, inFlight: 2, deadLetters: 1 }];
    bindQueueMetrics(metrics, {
      system: 'postgresql',
      collect: async () => {
        calls++;
        await new Promise((resolve) => setImmediate(resolve));
        return stats;
      },
    });
    let { body } = await renderMetrics(metrics);
    expect(body).toContain('sluice_queue_depth{system="postgresql",queue="email.send"} 7');
    expect(body).toContain('sluice_queue_in_flight{system="postgresql",queue="email.send"} 2');
    expect(body).toContain('sluice_queue_dead_letters{system="postgresql",queue="email.send"} 1');
    expect(calls).toBe(1);

    stats = [
      { queue: 'email.send', depth: 0, inFlight: 0, deadLetters: 3 },
      { queue: 'orders', depth: 5, inFlight: 1, deadLetters: 0 },
    ];
    ({ body } = await renderMetrics(metrics));
    expect(body).toContain('sluice_queue_depth{system="postgresql",queue="email.send"} 0');
    expect(body).toContain('sluice_queue_dead_letters{system="postgresql",queue="email.send"} 3');
    expect(body).toContain('sluice_queue_depth{system="postgresql",queue="orders"} 5');
    expect(calls).toBe(2);
  });

  it('keeps the scrape working when a callback fails, counting the failure; the disposer removes a source', async () => {
    const metrics = createMetrics();
    bindQueueMetrics(metrics, {
      system: 'nats',
      collect: () => {
        throw new Error('nats down');
      },
    });
    const dispose = bindQueueMetrics(metrics, {
      system: 'rabbitmq',
      collect: () => [{ queue: 'q', depth: 1, inFlight: 0, deadLetters: 0 }],
    });
    let { body } = await renderMetrics(metrics);
    expect(body).toContain('sluice_queue_depth{system="rabbitmq",queue="q"} 1');
    expect(body).not.toContain('system="nats",queue');
    expect(body).toContain('sluice_metrics_collect_errors_total{collector="queues:nats"} 1');
    dispose();
    ({ body } = await renderMetrics(metrics));
    expect(body).not.toContain('system="rabbitmq"');
    expect(body).toContain('sluice_metrics_collect_errors_total{collector="queues:nats"} 2');
  });

  it('rejects a missing system or collect with invalid_argument', () => {
    const metrics = createMetrics();
    for (const bad of [
      () => bindQueueMetrics(metrics, { system: '', collect: () => [] }),
      () => bindQueueMetrics(metrics, { system: 'nats' } as never),
    ]) {
      let error: unknown;
      try {
        bad();
      } catch (e) {
        error = e;
      }
      expect(isSluiceError(error) && error.reason).toBe(ObservabilityReasons.OBSERVABILITY_INVALID_OPTION);
    }
  });
});
