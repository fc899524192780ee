/**
 * `@sluice/service`: the small kit every service of the shop is built with —
 * validated configuration from the environment, numbered SQL migrations for
 * SQLite and PostgreSQL, and operator-driven fault injection.
 *
 * @example
 * ```ts
 * const config = readEnv(process.env, { PORT: { type: 'int', default: 8083 } });
 * migrateSqlite(db, loadMigrations(new URL('../migrations/sqlite', import.meta.url).pathname));
 * const faults = createFaultInjector();
 * ```
 */

export type { EnvConfig, EnvVar } from './config.js';
export { readEnv } from './config.js';
export type { Fault, FaultInjector, FaultInjectorOptions, FaultKind, FaultSpec } from './fault-injection.js';
export { createFaultInjector, parseFaultSpec } from './fault-injection.js';
export type { GraphqlRouteOptions } from './graphql-route.js';
export { graphqlRoute } from './graphql-route.js';
export type { Migration } from './migrations.js';
export { assertSchemaName, loadMigrations, migratePostgres, migrateSqlite } from './migrations.js';
export { isUniqueViolation, withPgTransaction } from './pg-transaction.js';
export type { ServiceReason } from './reasons.js';
export { ServiceReasons } from './reasons.js';
export type { ServiceDatabase, ServiceDatabaseOptions } from './service-database.js';
export { openServiceDatabase } from './service-database.js';
export type {
  PgEventWriter,
  ServiceMessaging,
  ServiceMessagingOptions,
  SqliteEventWriter,
} from './service-messaging.js';
export { openServiceMessaging } from './service-messaging.js';
export type { ServiceRuntime, ServiceRuntimeOptions } from './service-runtime.js';
export { createServiceRuntime } from './service-runtime.js';
export type { ProcessSpec, ProcessStatus, Supervisor, SupervisorOptions } from './supervisor.js';
export { createSupervisor } from './supervisor.js';
