import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { type CompatCatalog, createCompatCatalog } from './compat-catalog.js';
import {
  type CompatProductsContext,
  compatProductsContext,
  compatProductsSubgraph,
} from './compat-products.subgraph.js';
import type { CompatSuitePackage } from './compat-suite-package.js';
import { type GraphqlHttpServer, serveGraphqlHttp } from './graphql-http-server.js';
import { type SuiteSubgraph, startSuiteSubgraph } from './suite-subgraph-process.js';

/**
 * The port the suite's tests send router queries to: `ROUTER_URL` is the
 * constant `http://localhost:4000/` in its `utils/client.js`, not configurable.
 */
export const SUITE_ROUTER_PORT = 4000;

/** Options of {@link startCompatSupergraph}. */
export interface CompatSupergraphOptions {
  readonly suite: CompatSuitePackage;
  /**
   * How long to wait for port 4000 if it is taken (another run of this test on
   * the machine holds it for its few seconds), in ms. Default 90 000.
   */
  readonly waitForRouterPortMs?: number;
}

/** The running supergraph: the fixture products subgraph, the suite's users and inventory, the router. */
export interface CompatSupergraph {
  readonly productsUrl: string;
  readonly routerUrl: string;
  /** The suite's own users subgraph. */
  readonly usersUrl: string;
  /** The fixture's catalog, to observe its batch look-ups. */
  readonly catalog: CompatCatalog;
  /** Stops everything it started, router first; never throws. */
  stop(): Promise<void>;
}

/**
 * Starts what the suite's docker compose file would, without docker: the
 * fixture `products` subgraph (the shop's subgraph stack, on a free loopback
 * port), the suite's own `users` and `inventory` subgraphs as child processes,
 * and in place of the Apollo Router container the shop's gateway engine,
 * Apollo Gateway, composing all three by introspection and served on
 * 127.0.0.1:4000.
 */
export async function startCompatSupergraph(options: CompatSupergraphOptions): Promise<CompatSupergraph> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    stops.length = 0;
  };
  try {
    const catalog = createCompatCatalog();
    const productsApollo = new ApolloServer<CompatProductsContext>({
      schema: compatProductsSubgraph(),
    });
    await productsApollo.start();
    const products: GraphqlHttpServer = await serveGraphqlHttp({
      apollo: productsApollo,
      context: async () => compatProductsContext(catalog),
    });
    stops.push(() => products.close());

    const started = await Promise.allSettled([
      startSuiteSubgraph({ name: 'users', entry: options.suite.usersSubgraph, portVariable: 'USERS_PORT' }),
      startSuiteSubgraph({
        name: 'inventory',
        entry: options.suite.inventorySubgraph,
        portVariable: 'INVENTORY_PORT',
      }),
    ]);
    for (const s of started) if (s.status === 'fulfilled') stops.push(() => s.value.stop());
    const [users, inventory] = started.map((s) => {
      if (s.status === 'rejected') throw s.reason;
      return s.value;
    }) as [SuiteSubgraph, SuiteSubgraph];

    const gateway = new ApolloGateway({
      supergraphSdl: new IntrospectAndCompose({
        subgraphs: [
          { name: 'products', url: products.url },
          { name: 'users', url: users.url },
          { name: 'inventory', url: inventory.url },
        ],
      }),
    });
    // Like the router's `include_subgraph_errors: all` in the suite's router.yaml: failures stay diagnosable.
    const routerApollo = new ApolloServer({
      gateway,
      introspection: true,
      includeStacktraceInErrorResponses: true,
    });
    await routerApollo.start();
    const waitMs = options.waitForRouterPortMs ?? 90_000;
    const router = await serveGraphqlHttp({
      apollo: routerApollo,
      context: async () => ({}),
      port: SUITE_ROUTER_PORT,
      waitForPortMs: waitMs,
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') throw err;
      throw new Error(
        `127.0.0.1:${SUITE_ROUTER_PORT} stayed in use for ${waitMs} ms: the compatibility suite sends its router ` +
          `queries to the fixed http://localhost:${SUITE_ROUTER_PORT}/, so the port must be free for this test`,
        { cause: err },
      );
    });
    stops.push(() => router.close());
    return { productsUrl: products.url, routerUrl: router.url, usersUrl: users.url, catalog, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
