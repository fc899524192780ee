import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createShopEventRegistry } from '@sluice/contracts';
import {
  createHttpClient,
  createPostgresIdempotencyStore,
  createSqliteIdempotencyStore,
  type IdempotencyStore,
} from '@sluice/http';
import {
  createServiceRuntime,
  openServiceDatabase,
  openServiceMessaging,
  type ServiceRuntime,
} from '@sluice/service';
import { orderRoutes } from './api/order.routes.js';
import { ChangeOrderStatus } from './application/change-order-status.use-case.js';
import type { OrderStore } from './application/order.store.js';
import { PlaceOrder } from './application/place-order.use-case.js';
import type { OrderConfig } from './config.js';
import { PgOrderStore } from './infrastructure/pg-order.store.js';
import { ProductCatalogHttpClient } from './infrastructure/product-catalog.http-client.js';
import { SqliteOrderStore } from './infrastructure/sqlite-order.store.js';

/** Builds the order service (composition root); `listen` is left to the caller. */
export async function createOrderService(config: OrderConfig): Promise<ServiceRuntime> {
  const database = await openServiceDatabase({
    url: config.SLUICE_DB,
    service: 'order',
    migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
  });
  let idempotency: IdempotencyStore;
  if (database.kind === 'sqlite') {
    idempotency = createSqliteIdempotencyStore({ database: database.db });
  } else {
    const pgStore = createPostgresIdempotencyStore({ pool: database.pool, schema: database.schema });
    await pgStore.migrate();
    idempotency = pgStore;
  }
  const rt = await createServiceRuntime({
    name: 'order',
    logLevel: config.LOG_LEVEL,
    ...(config.SLUICE_ADMIN_TOKEN ? { adminToken: config.SLUICE_ADMIN_TOKEN } : {}),
    http: { idempotency: { store: idempotency } },
  });
  const messaging = await openServiceMessaging({
    database,
    brokerUrl: config.SLUICE_BROKER,
    source: 'order',
    registry: createShopEventRegistry(),
    logger: rt.logger,
  });
  const store: OrderStore =
    database.kind === 'sqlite'
      ? new SqliteOrderStore(database.db, messaging.sqliteEvents!)
      : new PgOrderStore(database.pool, database.schema, messaging.pgEvents!);

  const products = createHttpClient({
    origin: config.PRODUCT_URL,
    name: 'product',
    caller: 'order',
    resilience: true,
    timeoutMs: 2_000,
  });
  rt.registerPolicy('product', products.policy);
  const deps = {
    store,
    catalog: new ProductCatalogHttpClient(products),
    now: () => new Date(),
    newId: randomUUID,
    source: 'order',
  };
  const placeOrder = new PlaceOrder(deps);
  const status = new ChangeOrderStatus(deps);
  rt.app.readiness.add('database', () => store.get('readiness-probe'));
  orderRoutes(rt.app, { store, placeOrder, status });

  rt.onShutdown(async () => {
    await products.close();
    await messaging.close();
    await idempotency.close();
    await database.close();
  });
  return rt;
}
