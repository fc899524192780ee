import { pgSchema } from './http.test-support.js';
import { idempotencyConcurrency } from './idempotency-http.test-support.js';
import { idempotencyStoreConformance } from './idempotency-store.conformance.test-support.js';
import { createPostgresIdempotencyStore } from './postgres-idempotency-store.js';

idempotencyStoreConformance('postgres', async () => {
  const db = await pgSchema();
  const store = createPostgresIdempotencyStore({ pool: db.pool, schema: db.schema });
  await store.migrate();
  await store.migrate(); // idempotent
  return { store, dispose: db.dispose };
});

idempotencyConcurrency('postgres store, two Fastify instances sharing the database', async () => {
  const db = await pgSchema();
  const a = createPostgresIdempotencyStore({ pool: db.pool, schema: db.schema });
  const b = createPostgresIdempotencyStore({ pool: db.pool, schema: db.schema });
  await Promise.all([a.migrate(), b.migrate()]);
  return { stores: [a, b], dispose: db.dispose };
});
