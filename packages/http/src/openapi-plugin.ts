import swagger from '@fastify/swagger';
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

const plugin: FastifyPluginAsync<OpenApiOptions> = async (app, options) => {
  await app.register(swagger, {
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
