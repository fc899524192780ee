import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin, HeaderMap } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';

/** A subgraph the gateway composes. */
export interface SubgraphEndpoint {
  readonly name: string;
  /** Its GraphQL endpoint, e.g. `http://127.0.0.1:8081/graphql`. */
  readonly url: string;
}

/** Query limits (see docs/decisions/020-gateway.md). */
export interface GraphqlLimits {
  /** Deepest selection allowed. Default 8. */
  readonly maxDepth?: number;
  /** Largest query cost (graphql-armor's cost model). Default 5000. */
  readonly maxCost?: number;
  /** Most aliases in one operation. Default 15. */
  readonly maxAliases?: number;
  /** Most tokens in one document. Default 2000. */
  readonly maxTokens?: number;
}

/** Options of {@link createFederationGateway}. */
export interface FederationGatewayOptions {
  readonly subgraphs: readonly SubgraphEndpoint[];
  readonly limits?: GraphqlLimits;
  /** How often to re-read the subgraphs' schemas, in ms. Default: never (compose once at start). */
  readonly pollIntervalMs?: number;
}

/** What a GraphQL request carries into the gateway. */
export interface GatewayRequest {
  readonly body: unknown;
  /** Headers forwarded to every subgraph call (identity, trace context, request id, deadline). */
  readonly forward: Readonly<Record<string, string>>;
  /** Query string of a GET request (`?query=…`). */
  readonly search?: string;
  readonly method?: 'GET' | 'POST';
}

/** The gateway's answer. */
export interface GatewayResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * The GraphQL federation gateway, behind one interface so the engine can be
 * swapped (today Apollo Gateway: see decision 020 for why). Subgraph schemas
 * are composed at start (and re-read every `pollIntervalMs` if set); each
 * query plan step sends one `_entities` request per subgraph, which the
 * subgraphs answer with batched (DataLoader) look-ups.
 */
export interface FederationGateway {
  execute(request: GatewayRequest): Promise<GatewayResponse>;
  stop(): Promise<void>;
}

interface Context {
  forward: Readonly<Record<string, string>>;
}

/**
 * Starts the gateway; rejects if the subgraphs cannot be composed (a subgraph
 * down, or schemas that do not compose) — callers retry until they can.
 */
export async function createFederationGateway(options: FederationGatewayOptions): Promise<FederationGateway> {
  const gateway = new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({
      subgraphs: options.subgraphs.map((s) => ({ name: s.name, url: s.url })),
      ...(options.pollIntervalMs ? { pollIntervalInMs: options.pollIntervalMs } : {}),
    }),
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource<Context>({
        ...(url ? { url } : {}),
        willSendRequest({ request, context }) {
          for (const [k, v] of Object.entries<string>(context.forward ?? {})) request.http?.headers.set(k, v);
        },
      }),
  });
  const limits = options.limits ?? {};
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth ?? 8 },
    costLimit: { maxCost: limits.maxCost ?? 5000 },
    maxAliases: { n: limits.maxAliases ?? 15 },
    maxTokens: { n: limits.maxTokens ?? 2000 },
    maxDirectives: { n: 50 },
    blockFieldSuggestion: { enabled: true },
  }).protect();
  const server = new ApolloServer<Context>({
    gateway,
    // graphql-armor's typings name @apollo/server's CJS build; the plugin objects are the same at run time.
    plugins: armor.plugins as unknown as ApolloServerPlugin<Context>[],
    validationRules: [...armor.validationRules],
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    introspection: true,
  });
  try {
    await server.start();
  } catch (err) {
    await server.stop().catch(() => {});
    throw err;
  }

  return {
    async execute(request) {
      const headers = new HeaderMap([['content-type', 'application/json']]);
      const res = await server.executeHTTPGraphQLRequest({
        httpGraphQLRequest: {
          method: request.method ?? 'POST',
          headers,
          search: request.search ?? '',
          body: request.body,
        },
        context: async () => ({ forward: request.forward }),
      });
      let body = '';
      if (res.body.kind === 'complete') body = res.body.string;
      else for await (const chunk of res.body.asyncIterator) body += String(chunk);
      return { status: res.status ?? 200, headers: Object.fromEntries(res.headers), body };
    },
    stop: () => server.stop(),
  };
}
