import { fileURLToPath } from 'node:url';
import { createServiceRuntime, openServiceDatabase, type ServiceRuntime } from '@sluice/service';
import { productRoutes } from './api/product.routes.js';
import { Catalog } from './application/catalog.use-case.js';
import { SEED_PRODUCTS } from './application/seed-catalog.js';
import type { ProductConfig } from './config.js';
import { PgProductStore } from './infrastructure/pg-product.store.js';
import { SqliteProductStore } from './infrastructure/sqlite-product.store.js';

/** Builds the product service (composition root); `listen` is left to the caller. */
export async function createProductService(config: ProductConfig): Promise<ServiceRuntime> {
  const rt = await createServiceRuntime({
    name: 'product',
    logLevel: config.LOG_LEVEL,
    ...(config.SLUICE_ADMIN_TOKEN ? { adminToken: config.SLUICE_ADMIN_TOKEN } : {}),
  });
  const database = await openServiceDatabase({
    url: config.SLUICE_DB,
    service: 'product',
    migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
  });
  rt.onShutdown(() => database.close());
  const store =
    database.kind === 'sqlite'
      ? new SqliteProductStore(database.db)
      : new PgProductStore(database.pool, database.schema);
  const catalog = new Catalog(store);
  if (config.SLUICE_SEED) await catalog.seed(SEED_PRODUCTS);
  rt.app.readiness.add('database', () => store.list({ limit: 1 }));
  productRoutes(rt.app, catalog);
  return rt;
}
