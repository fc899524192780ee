import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { Clock } from '@sluice/resilience';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyHttpOptions,
  type FastifyInstance,
  type FastifyServerOptions,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { type GracefulShutdownOptions, gracefulShutdown, type Shutdown } from './graceful-shutdown.js';
import { type HealthOptions, healthPlugin } from './health-plugin.js';
import { type IdempotencyOptions, idempotencyPlugin } from './idempotency-plugin.js';
import { type OpenApiOptions, openApiPlugin } from './openapi-plugin.js';
import { type ProblemDetailsOptions, problemDetailsPlugin } from './problem-details-plugin.js';
import { requestContextPlugin, requestIdFrom } from './request-context-plugin.js';

/** Options of {@link createHttpServer}. */
export interface HttpServerOptions {
  /** Largest request body accepted, in bytes (413 beyond). Default 1 048 576 (1 MiB). */
  readonly bodyLimitBytes?: number;
  /** Fastify's logger option (`true`, pino options or an instance). Default `false`. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Deadline for requests that carry no `sluice-deadline-ms`, in ms. Default: none. */
  readonly defaultDeadlineMs?: number;
  /** Largest deadline accepted from a caller, in ms (clamped). Default: no limit. */
  readonly maxDeadlineMs?: number;
  /** A server span per request through `@opentelemetry/api`. Default true. */
  readonly tracing?: boolean;
  /** Request id and deadline current via AsyncLocalStorage (see `RequestContextOptions.asyncContext`). Default true. */
  readonly asyncContext?: boolean;
  /** `/healthz` and `/readyz`. Default `{}`. */
  readonly health?: HealthOptions;
  /** OpenAPI document at `/openapi.json`; `false` to leave it out. Default `{}`. */
  readonly openapi?: OpenApiOptions | false;
  /** The idempotency plugin; leave out to register none. */
  readonly idempotency?: IdempotencyOptions;
  /** Graceful shutdown (the returned `shutdown`). Default `{}` (no signal handlers). */
  readonly shutdown?: GracefulShutdownOptions;
  /** Error handler options. */
  readonly problems?: ProblemDetailsOptions;
  /** Clock of request deadlines. Default `systemClock`. */
  readonly clock?: Clock;
  /** More Fastify options (`bodyLimit`, `genReqId`, `logger` and `requestIdHeader` above take precedence). */
  readonly fastify?: Omit<FastifyServerOptions, 'logger' | 'bodyLimit'>;
}

/** The Fastify instance {@link createHttpServer} returns, with the TypeBox type provider. */
export type HttpServer = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
> & {
  /** Starts a graceful shutdown (see `gracefulShutdown`). */
  readonly shutdown: Shutdown;
};

/**
 * A Fastify server with every Sluice plugin registered, ready for routes:
 * request id, caller and deadline (`requestContextPlugin`), server spans,
 * TypeBox validation (strict bodies: no type coercion, unknown fields
 * rejected by schemas with `additionalProperties: false`, every violation
 * reported), body limit, problem+json errors, `/healthz` + `/readyz`,
 * `/openapi.json`, the idempotency plugin (when given a store) and
 * graceful shutdown (`app.shutdown()`).
 *
 * @example
 * ```ts
 * const app = await createHttpServer({ idempotency: { store: createMemoryIdempotencyStore() } });
 * app.post('/orders', { schema: { body: OrderBody }, config: { idempotency: true } }, async (req, reply) =>
 *   reply.code(201).send({ id: 'o-1' }));
 * await app.listen({ port: 3000, host: '127.0.0.1' });
 * ```
 */
export async function createHttpServer(options: HttpServerOptions = {}): Promise<HttpServer> {
  const fastifyOptions: FastifyServerOptions = {
    ...options.fastify,
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimitBytes ?? 1_048_576,
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers),
    // Malformed bodies and proto-poisoning are errors, never silently accepted.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  };
  const app = Fastify(
    fastifyOptions as FastifyHttpOptions<RawServerDefault>,
  ).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  await app.register(problemDetailsPlugin, options.problems ?? {});
  await app.register(requestContextPlugin, {
    ...(options.defaultDeadlineMs === undefined ? {} : { defaultDeadlineMs: options.defaultDeadlineMs }),
    ...(options.maxDeadlineMs === undefined ? {} : { maxDeadlineMs: options.maxDeadlineMs }),
    ...(options.tracing === undefined ? {} : { tracing: options.tracing }),
    ...(options.asyncContext === undefined ? {} : { asyncContext: options.asyncContext }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  if (options.openapi !== false) await app.register(openApiPlugin, options.openapi ?? {});
  await app.register(healthPlugin, options.health ?? {});
  if (options.idempotency !== undefined) await app.register(idempotencyPlugin, options.idempotency);
  const shutdown = gracefulShutdown(app as unknown as FastifyInstance, options.shutdown);
  return Object.assign(app, { shutdown }) as HttpServer;
}
