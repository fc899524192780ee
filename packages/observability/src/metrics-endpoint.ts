import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Metrics } from './metrics.js';

/** The text exposition of a registry and its content type, ready to send. */
export interface RenderedMetrics {
  /** `text/plain; version=0.0.4; charset=utf-8` (or the OpenMetrics type for an OpenMetrics registry). */
  readonly contentType: string;
  readonly body: string;
}

function registryOf(source: Metrics | Registry): Registry {
  return 'registry' in source ? source.registry : source;
}

/**
 * Collects every metric of the registry (running scrape-time collectors) and
 * renders the Prometheus text exposition: what a Fastify route returns.
 *
 * @example
 * ```ts
 * app.get('/metrics', async (_req, reply) => {
 *   const { contentType, body } = await renderMetrics(metrics);
 *   return reply.type(contentType).send(body);
 * });
 * ```
 */
export async function renderMetrics(source: Metrics | Registry): Promise<RenderedMetrics> {
  const registry = registryOf(source);
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/**
 * A `node:http` request listener serving the exposition: `GET` (and `HEAD`)
 * answer 200 with the metrics, other methods 405, and a failing collector
 * 500 (the server keeps serving). Mount it on its own port or route to it.
 *
 * @example
 * ```ts
 * http.createServer(metricsHandler(metrics)).listen(9464);
 * ```
 */
export function metricsHandler(
  source: Metrics | Registry,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    renderMetrics(source).then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  };
}
