import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server';

/** Options of {@link serveGraphqlHttp}. */
export interface ServeGraphqlHttpOptions<TContext extends BaseContext> {
  /** A started Apollo Server (schema or gateway). It is stopped by `close()`. */
  readonly apollo: ApolloServer<TContext>;
  /** Builds the per-request context (e.g. fresh DataLoaders). */
  readonly context: () => Promise<TContext>;
  /** Interface to bind. Default `127.0.0.1`. */
  readonly host?: string;
  /** TCP port. Default 0 (a free port chosen by the OS). */
  readonly port?: number;
  /**
   * How long to keep retrying while the port is in use, in ms (for a fixed port
   * that another run of the same test may still hold). Default 0: fail at once.
   */
  readonly waitForPortMs?: number;
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  readonly maxBodyBytes?: number;
}

/** A running GraphQL HTTP server. */
export interface GraphqlHttpServer {
  /** Its endpoint, e.g. `http://127.0.0.1:43121/`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, drops open connections, stops Apollo Server. */
  close(): Promise<void>;
}

/**
 * Serves an Apollo Server over plain `node:http` (POST and GET on any path) via
 * `executeHTTPGraphQLRequest`, the way the shop mounts Apollo in its own HTTP
 * server. Apollo Server adds federated tracing (`ftv1`) for subgraph schemas.
 */
export async function serveGraphqlHttp<TContext extends BaseContext>(
  options: ServeGraphqlHttpOptions<TContext>,
): Promise<GraphqlHttpServer> {
  const { apollo, context } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const server = http.createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBodyBytes) {
          res.writeHead(413, { 'content-type': 'text/plain' }).end('request body too large');
          return;
        }
        chunks.push(chunk);
      }
      const headers = new HeaderMap();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      if (raw && headers.get('content-type')?.startsWith('application/json')) {
        try {
          body = JSON.parse(raw);
        } catch {
          res.writeHead(400, { 'content-type': 'text/plain' }).end('malformed JSON body');
          return;
        }
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const result = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? 'POST', headers, search: url.search, body },
        context,
      });
      for (const [name, value] of result.headers) res.setHeader(name, value);
      res.statusCode = result.status ?? 200;
      if (result.body.kind === 'complete') res.end(result.body.string);
      else {
        for await (const chunk of result.body.asyncIterator) res.write(chunk);
        res.end();
      }
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  });
  const host = options.host ?? '127.0.0.1';
  const deadline = Date.now() + (options.waitForPortMs ?? 0);
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      break;
    } catch (err) {
      const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!inUse || Date.now() >= deadline) {
        await apollo.stop().catch(() => {});
        throw err;
      }
      await delay(500);
    }
  }
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/`,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await apollo.stop();
    },
  };
}
