import { idempotencyConcurrency } from './idempotency-http.test-support.js';
import { idempotencyStoreConformance } from './idempotency-store.conformance.test-support.js';
import { createMemoryIdempotencyStore } from './memory-idempotency-store.js';

idempotencyStoreConformance('memory', async () => {
  const store = createMemoryIdempotencyStore();
  return { store, dispose: () => store.close() };
});

idempotencyConcurrency('memory store', async () => {
  const store = createMemoryIdempotencyStore();
  return { stores: [store], dispose: () => store.close() };
});
