import type { HttpServer } from '@sluice/http';
import { type DocumentNode, execute, type GraphQLSchema, parse, validate } from 'graphql';

/** Options of {@link graphqlRoute}. */
export interface GraphqlRouteOptions<C> {
  /** Default `/graphql`. */
  readonly path?: string;
  readonly schema: GraphQLSchema;
  /** Builds the per-request context (a fresh DataLoader per request goes here). */
  readonly context: (request: { headers: Record<string, string | string[] | undefined> }) => C;
  /** Parsed and validated documents kept, by query text. Default 500. */
  readonly cacheSize?: number;
}

interface Body {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

/**
 * Serves a GraphQL schema (a federation subgraph) at `POST /graphql` on a
 * `@sluice/http` server: GraphQL-over-HTTP JSON in and out, documents parsed
 * and validated once per distinct query text (the gateway sends the same
 * query plans again and again), errors as GraphQL errors with status 400 for
 * a request that cannot execute.
 */
export function graphqlRoute<C>(app: HttpServer, options: GraphqlRouteOptions<C>): void {
  const cache = new Map<string, DocumentNode>();
  const max = options.cacheSize ?? 500;
  const documentOf = (query: string): DocumentNode | readonly { message: string }[] => {
    const hit = cache.get(query);
    if (hit) return hit;
    let doc: DocumentNode;
    try {
      doc = parse(query, { maxTokens: 5000 });
    } catch (e) {
      return [{ message: (e as Error).message }];
    }
    const errors = validate(options.schema, doc);
    if (errors.length > 0) return errors.map((e) => ({ message: e.message }));
    if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    cache.set(query, doc);
    return doc;
  };

  app.post(options.path ?? '/graphql', async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    if (typeof body.query !== 'string' || body.query.length === 0) {
      return reply.code(400).send({ errors: [{ message: 'the request needs a "query" string' }] });
    }
    if (body.variables != null && (typeof body.variables !== 'object' || Array.isArray(body.variables))) {
      return reply.code(400).send({ errors: [{ message: '"variables" must be an object' }] });
    }
    const doc = documentOf(body.query);
    if (!('kind' in doc)) return reply.code(400).send({ errors: doc });
    const result = await execute({
      schema: options.schema,
      document: doc,
      variableValues: (body.variables as Record<string, unknown> | null | undefined) ?? null,
      operationName: typeof body.operationName === 'string' ? body.operationName : null,
      contextValue: options.context({ headers: request.headers }),
    });
    return reply.send({
      ...(result.errors ? { errors: result.errors.map((e) => ({ message: e.message, path: e.path })) } : {}),
      ...(result.data !== undefined ? { data: result.data } : {}),
    });
  });
}
