import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createShopEventRegistry, inventoryV1 } from '@sluice/contracts';
import { bearerAuthInterceptor, createGrpcServer, tracingInterceptor } from '@sluice/grpc';
import {
  createServiceRuntime,
  openServiceDatabase,
  openServiceMessaging,
  type ServiceRuntime,
} from '@sluice/service';
import { inventoryGrpcService } from './api/inventory.grpc-service.js';
import { inventoryRoutes } from './api/inventory.routes.js';
import type { InventoryStore } from './application/inventory.store.js';
import { OrderFlowReactions } from './application/order-flow.reactions.js';
import { ReserveStock } from './application/reserve-stock.use-case.js';
import { expireDueReservations, SettleReservation } from './application/settle-reservation.use-case.js';
import { StockWatchers } from './application/stock-watchers.js';
import type { InventoryConfig } from './config.js';
import { PgInventoryStore } from './infrastructure/pg-inventory.store.js';
import { SqliteInventoryStore } from './infrastructure/sqlite-inventory.store.js';

/** The products `npm start` stocks: every catalog product, `limited` with only 5 units. */
export const SEED_STOCK = [
  'kettle',
  'mug',
  'grinder',
  'beans',
  'press',
  'scale',
  'filter',
  'dripper',
  'teapot',
  'tea',
  'tray',
  'limited',
] as const;

/** The running inventory service: HTTP runtime plus its gRPC server. */
export interface InventoryService {
  readonly runtime: ServiceRuntime;
  /** Listens on the REST and gRPC ports; resolves with both addresses. */
  listen(): Promise<{ http: string; grpcPort: number }>;
  shutdown(): Promise<void>;
}

/** Builds the inventory service (composition root). */
export async function createInventoryService(config: InventoryConfig): Promise<InventoryService> {
  const rt = await createServiceRuntime({
    name: 'inventory',
    logLevel: config.LOG_LEVEL,
    ...(config.SLUICE_ADMIN_TOKEN ? { adminToken: config.SLUICE_ADMIN_TOKEN } : {}),
  });
  const database = await openServiceDatabase({
    url: config.SLUICE_DB,
    service: 'inventory',
    migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
  });
  const messaging = await openServiceMessaging({
    database,
    brokerUrl: config.SLUICE_BROKER,
    source: 'inventory',
    registry: createShopEventRegistry(),
    logger: rt.logger,
  });
  const store: InventoryStore =
    database.kind === 'sqlite'
      ? new SqliteInventoryStore(database.db, messaging.sqliteEvents!)
      : new PgInventoryStore(database.pool, database.schema, messaging.pgEvents!);
  const watchers = new StockWatchers();
  const deps = {
    store,
    now: () => new Date(),
    newId: () => `res-${randomUUID()}`,
    source: 'inventory',
    onStockChange: (changed: Parameters<StockWatchers['publish']>[0], at: Date) =>
      watchers.publish(changed, at),
  };
  const reserveStock = new ReserveStock(deps);
  const settle = new SettleReservation(deps);
  if (config.SLUICE_SEED) {
    const existing = new Set((await store.listStock()).map((s) => s.productId));
    const missing = SEED_STOCK.filter((id) => !existing.has(id));
    // Seed once: a restart keeps the levels the shop reached.
    await store.seed(
      missing.map((productId) => ({ productId, units: productId === 'limited' ? 5 : config.SEED_UNITS })),
    );
  }

  rt.app.readiness.add('database', () => store.getStock('mug'));
  inventoryRoutes(rt.app, { store, reserveStock, settle, faults: rt.faults });

  // Reactions to the order flow (both saga modes): a confirmed order sells its reservation.
  const reactions = new OrderFlowReactions({ settle });
  const confirmed = await messaging.bus.subscribe(
    'order.confirmed',
    { group: 'inventory', prefetch: 16 },
    async (event) =>
      reactions.onOrderConfirmed(event as Parameters<OrderFlowReactions['onOrderConfirmed']>[0]),
  );

  // Expire due reservations, giving their stock back.
  const sweep = setInterval(() => {
    expireDueReservations(settle, store, () => new Date()).catch((err) =>
      rt.logger.error({ err }, 'expiry sweep failed'),
    );
  }, config.EXPIRY_SWEEP_MS);
  sweep.unref();

  const grpc = createGrpcServer({
    interceptors: [
      tracingInterceptor(),
      bearerAuthInterceptor({ verify: (token) => token === config.SLUICE_SERVICE_TOKEN }),
    ],
  });
  grpc.add(
    inventoryV1.InventoryService,
    inventoryGrpcService({ store, reserveStock, settle, watchers, faults: rt.faults }),
  );

  rt.onShutdown(async () => {
    clearInterval(sweep);
    await grpc.shutdown();
    await confirmed.stop();
    await messaging.close();
    await database.close();
  });

  return {
    runtime: rt,
    async listen() {
      const grpcPort = await grpc.listen(`${config.HOST}:${config.INVENTORY_GRPC_PORT}`);
      const http = await rt.listen(config.INVENTORY_PORT, config.HOST);
      rt.logger.info({ grpcPort }, 'inventory gRPC listening');
      return { http, grpcPort };
    },
    shutdown: () => rt.shutdown(),
  };
}
