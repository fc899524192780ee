/**
 * `@sluice/http`: REST between services. A client on undici (pooled
 * keep-alive, deadlines, trace context, request ids, idempotency keys,
 * errors as `SluiceError`, resilience in one option) and Fastify plugins
 * (request context and deadlines, problem+json errors, health, idempotency
 * with memory/SQLite/PostgreSQL stores, OpenAPI, graceful shutdown).
 *
 * @example
 * ```ts
 * const app = await createHttpServer({ idempotency: { store: createMemoryIdempotencyStore() } });
 * app.get('/ping', async (request) => ({ budgetMs: request.deadline?.remaining() }));
 * await app.listen({ port: 0, host: '127.0.0.1' });
 * const client = createHttpClient({ origin: `http://127.0.0.1:${app.server.address().port}`, resilience: true });
 * const { body } = await client.get('/ping', { timeoutMs: 500 });
 * ```
 */

// Wire format
export { formatDeadlineHeader, MAX_DEADLINE_HEADER_MS, parseDeadlineHeader } from './deadline-header.js';
export type { GracefulShutdownOptions, Shutdown } from './graceful-shutdown.js';
export { gracefulShutdown } from './graceful-shutdown.js';
export { HttpHeaders } from './headers.js';
export type {
  HealthOptions,
  Readiness,
  ReadinessCheck,
  ReadinessCheckResult,
  ReadinessReport,
} from './health-plugin.js';
export { healthPlugin } from './health-plugin.js';
// Client
export type {
  HttpCallOptions,
  HttpClient,
  HttpClientOptions,
  HttpMethod,
  HttpRequest,
  HttpResilienceOptions,
  HttpResponse,
} from './http-client.js';
export { createHttpClient, IDEMPOTENT_METHODS } from './http-client.js';
// Server
export type { HttpServer, HttpServerOptions } from './http-server.js';
export { createHttpServer } from './http-server.js';
export { formatIdempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH, parseIdempotencyKey } from './idempotency-key.js';
export type { IdempotencyOptions, RouteIdempotencyOptions } from './idempotency-plugin.js';
export { canonicalJson, idempotencyPlugin, requestFingerprint } from './idempotency-plugin.js';
// Idempotency stores
export type {
  IdempotencyBeginResult,
  IdempotencyClaim,
  IdempotencyStore,
  StoredResponse,
} from './idempotency-store.js';
export type { MemoryIdempotencyStoreOptions } from './memory-idempotency-store.js';
export { createMemoryIdempotencyStore } from './memory-idempotency-store.js';
export type { OpenApiOptions } from './openapi-plugin.js';
export { openApiPlugin } from './openapi-plugin.js';
export type {
  PostgresIdempotencyStore,
  PostgresIdempotencyStoreOptions,
} from './postgres-idempotency-store.js';
export { createPostgresIdempotencyStore } from './postgres-idempotency-store.js';
export type { HttpErrorResponse, ProblemDetailsOptions } from './problem-details-plugin.js';
export { problemDetailsPlugin, sendProblem, toHttpError, violationsOf } from './problem-details-plugin.js';
export type { HttpReason } from './reasons.js';
export { HttpReasons } from './reasons.js';
export type { RequestContextOptions } from './request-context-plugin.js';
export { requestContextPlugin, requestIdFrom } from './request-context-plugin.js';
export type { RequestScope } from './request-scope.js';
export { currentRequestId, currentRequestScope, runInRequestScope } from './request-scope.js';
export type { SqliteIdempotencyStoreOptions } from './sqlite-idempotency-store.js';
export { createSqliteIdempotencyStore } from './sqlite-idempotency-store.js';
