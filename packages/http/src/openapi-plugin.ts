import swagger, { type SwaggerTransform } from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

/** Options of {@link openApiPlugin}. */
export interface OpenApiOptions {
  /** Title of the API. Default `'API'`. */
  readonly title?: string;
  /** Version of the API. Default `'1.0.0'`. */
  readonly version?: string;
  /** One-paragraph description. */
  readonly description?: string;
  /** Where the document is served. Default `/openapi.json`. */
  readonly path?: string;
}

interface ObjectSchema {
  readonly type?: string;
  readonly properties?: Record<string, unknown>;
  readonly required?: readonly string[];
}

/**
 * Documents the `Idempotency-Key` header of routes that opt into the
 * idempotency plugin (the plugin reads the header itself, so it is not in
 * the route's validation schema).
 */
const documentIdempotency: SwaggerTransform = ({ schema, url, route }) => {
  const setting = route.config?.idempotency;
  if (setting === undefined || setting === false) return { schema, url };
  const required = setting === true || setting.required !== false;
  const headers = (schema?.headers ?? {}) as ObjectSchema;
  return {
    url,
    schema: {
      ...schema,
      headers: {
        ...headers,
        type: 'object',
        properties: {
          ...headers.properties,
          'idempotency-key': {
            type: 'string',
            description:
              'draft-ietf-httpapi-idempotency-key-header: the first response for a key is replayed; the same key with another payload is a 422, while in flight a 409.',
          },
        },
        ...(required ? { required: [...(headers.required ?? []), 'idempotency-key'] } : {}),
      },
    },
  };
};

const plugin: FastifyPluginAsync<OpenApiOptions> = async (app, options) => {
  await app.register(swagger, {
    transform: documentIdempotency,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: options.title ?? 'API',
        version: options.version ?? '1.0.0',
        ...(options.description === undefined ? {} : { description: options.description }),
      },
    },
  });
  app.get(options.path ?? '/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};

/**
 * An OpenAPI 3.1 document generated from the route schemas
 * (`@fastify/swagger`), served at `/openapi.json`. Register it before the
 * routes (routes with `schema: { hide: true }` are left out).
 */
export const openApiPlugin = fp(plugin, { name: '@sluice/http.openapi', fastify: '5.x' });
