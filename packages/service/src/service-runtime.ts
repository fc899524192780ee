import { timingSafeEqual } from 'node:crypto';
import { SluiceError } from '@sluice/errors';
import { createHttpServer, type HttpServer, type HttpServerOptions } from '@sluice/http';
import {
  bindResilienceMetrics,
  createLogger,
  createMetrics,
  jsonLinesSpanExporter,
  type Logger,
  type Metrics,
  renderMetrics,
  setupTracing,
  type Tracing,
} from '@sluice/observability';
import { createFaultInjector, type FaultInjector } from './fault-injection.js';
import { ServiceReasons } from './reasons.js';

/** Options of {@link createServiceRuntime}. */
export interface ServiceRuntimeOptions {
  /** Service name: logs, metrics labels, spans. */
  readonly name: string;
  readonly version?: string;
  /** Log level. Default `info`. */
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Write spans as JSON lines to stderr. Default false (the API stays a no-op without an SDK). */
  readonly traceToStderr?: boolean;
  /**
   * Token operators send (`Authorization: Bearer …`) to `/admin/*`. Without
   * one, the admin routes answer only requests from the loopback interface.
   */
  readonly adminToken?: string;
  /** Options of the HTTP server (`@sluice/http`). */
  readonly http?: HttpServerOptions;
}

/** What every shop service is built on. */
export interface ServiceRuntime {
  readonly name: string;
  readonly app: HttpServer;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly faults: FaultInjector;
  readonly tracing: Tracing | undefined;
  /**
   * Reports a downstream's resilience policy (a client's pipeline) at
   * `GET /admin/resilience` and in `/metrics` (breaker state, bulkhead
   * occupancy, retry budget tokens…).
   */
  registerPolicy(downstream: string, policy: { metrics(): unknown; describe?(): unknown }): void;
  /** Runs `fn` on shutdown, after the HTTP server drained (newest first). */
  onShutdown(fn: () => unknown): void;
  /** Listens on `port` (0 = any) and `host` (default 127.0.0.1); resolves with the base URL. */
  listen(port: number, host?: string): Promise<string>;
  /** Drains HTTP, runs the shutdown hooks, flushes spans. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * The common runtime of a shop service: a `@sluice/http` server (request ids,
 * deadlines, problem+json, health, OpenAPI, graceful shutdown), JSON logs,
 * Prometheus metrics at `/metrics` with per-route request metrics, optional
 * tracing, and the operator's fault-injection routes:
 * `GET /admin/faults`, `POST /admin/faults`, `DELETE /admin/faults[?id=]`.
 */
export async function createServiceRuntime(options: ServiceRuntimeOptions): Promise<ServiceRuntime> {
  const tracing = options.traceToStderr
    ? setupTracing({
        serviceName: options.name,
        ...(options.version ? { serviceVersion: options.version } : {}),
        exporter: jsonLinesSpanExporter(),
      })
    : undefined;
  const logger = createLogger({ service: options.name, level: options.logLevel ?? 'info' });
  const metrics = createMetrics({ defaultLabels: { service: options.name } });
  const faults = createFaultInjector();
  const app = await createHttpServer({
    openapi: { title: options.name, version: options.version ?? '0.1.0' },
    ...options.http,
  });
  const hooks: (() => unknown)[] = [];

  app.addHook('onResponse', async (request, reply) => {
    metrics.observeHttpRequest({
      side: 'server',
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      durationMs: reply.elapsedTime,
    });
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await renderMetrics(metrics);
    return reply.type(contentType).send(body);
  });

  const admin = (request: { headers: Record<string, unknown>; ip: string }) => {
    const header = request.headers.authorization;
    if (options.adminToken) {
      const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
      const a = Buffer.from(given);
      const b = Buffer.from(options.adminToken);
      if (a.length === b.length && timingSafeEqual(a, b)) return;
    } else if (request.ip === '127.0.0.1' || request.ip === '::1' || request.ip === '::ffff:127.0.0.1') {
      return;
    }
    throw new SluiceError({
      code: 'permission_denied',
      reason: ServiceReasons.ADMIN_FORBIDDEN,
      message: 'operator routes need the admin token',
    });
  };
  app.get('/admin/faults', async (request) => {
    admin(request);
    return { items: faults.list() };
  });
  app.post('/admin/faults', async (request, reply) => {
    admin(request);
    const fault = faults.add(request.body);
    logger.warn({ fault }, 'fault injected');
    return reply.code(201).send(fault);
  });
  app.delete('/admin/faults', async (request) => {
    admin(request);
    const id = (request.query as { id?: unknown }).id;
    const cleared = faults.clear(typeof id === 'string' ? id : undefined);
    logger.warn({ cleared, id }, 'faults cleared');
    return { cleared };
  });

  const policies = new Map<string, { metrics(): unknown; describe?(): unknown }>();
  app.get('/admin/resilience', async (request) => {
    admin(request);
    return {
      service: options.name,
      downstreams: [...policies].map(([downstream, p]) => ({
        downstream,
        policies: p.describe?.(),
        metrics: p.metrics(),
      })),
    };
  });

  let stopping: Promise<void> | undefined;
  return {
    name: options.name,
    app,
    logger,
    metrics,
    faults,
    tracing,
    registerPolicy(downstream, policy) {
      policies.set(downstream, policy);
      bindResilienceMetrics(metrics, downstream, policy as Parameters<typeof bindResilienceMetrics>[2]);
    },
    onShutdown: (fn) => {
      hooks.push(fn);
    },
    async listen(port, host = '127.0.0.1') {
      const address = await app.listen({ port, host });
      logger.info({ address }, `${options.name} listening`);
      return address;
    },
    shutdown() {
      stopping ??= (async () => {
        await app.shutdown();
        for (const fn of hooks.reverse()) {
          try {
            await fn();
          } catch (err) {
            logger.error({ err }, 'shutdown hook failed');
          }
        }
        await tracing?.shutdown();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}
