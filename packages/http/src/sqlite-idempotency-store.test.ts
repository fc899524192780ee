import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { idempotencyConcurrency } from './idempotency-http.test-support.js';
import { idempotencyStoreConformance } from './idempotency-store.conformance.test-support.js';
import { createSqliteIdempotencyStore } from './sqlite-idempotency-store.js';

function tempFile(): { file: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-http-idem-'));
  return {
    file: path.join(dir, 'idempotency.db'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

idempotencyStoreConformance('sqlite', async () => {
  const { file, remove } = tempFile();
  const store = createSqliteIdempotencyStore({ database: file });
  return {
    store,
    dispose: async () => {
      await store.close();
      remove();
    },
  };
});

idempotencyConcurrency('sqlite store, two server instances sharing one file', async () => {
  const { file, remove } = tempFile();
  const stores = [
    createSqliteIdempotencyStore({ database: file }),
    createSqliteIdempotencyStore({ database: file }),
  ];
  return {
    stores,
    dispose: async () => {
      for (const s of stores) await s.close();
      remove();
    },
  };
});
