import { fileURLToPath } from 'node:url';
import { createEventRegistry, inventoryV1, paymentV1, shopEvents } from '@sluice/contracts';
import {
  bearerTokenInterceptor,
  createGrpcChannel,
  createGrpcClient,
  resilienceInterceptor,
  tracingInterceptor,
} from '@sluice/grpc';
import { createHttpClient } from '@sluice/http';
import { outboxSagaSink, type PgOutbox, type SqliteOutbox } from '@sluice/messaging';
import { bulkhead, circuitBreaker, pipeline, retry, retryBudget, timeout } from '@sluice/resilience';
import { createOrchestrator, createPostgresSagaStore, createSqliteSagaStore, sagaEvents } from '@sluice/saga';
import {
  createServiceRuntime,
  openServiceDatabase,
  openServiceMessaging,
  type ServiceRuntime,
} from '@sluice/service';
import { sagaAdminRoutes } from './api/saga-admin.routes.js';
import { defineOrderSaga, type OrderSagaInput, orderSagaId } from './application/order.saga.js';
import type { OrchestratorConfig } from './config.js';
import { BusNotifier } from './infrastructure/email.bus-notifier.js';
import { InventoryGrpcClient } from './infrastructure/inventory.grpc-client.js';
import { OrderHttpClient } from './infrastructure/order.http-client.js';
import { PaymentGrpcClient } from './infrastructure/payment.grpc-client.js';

/** The resilient client pipeline for one gRPC downstream: bulkhead → breaker → retry with budget → timeout. */
function downstreamPolicy(name: string) {
  return pipeline(
    bulkhead({ maxConcurrent: 32, maxQueued: 256, queueTimeoutMs: 2_000 }),
    circuitBreaker({ name }),
    retry({ maxAttempts: 3, budget: retryBudget() }),
    timeout(2_000),
  );
}

/** Builds the orchestrator (composition root); `listen` is left to the caller. */
export async function createOrchestratorService(config: OrchestratorConfig): Promise<ServiceRuntime> {
  const rt = await createServiceRuntime({
    name: 'orchestrator',
    logLevel: config.LOG_LEVEL,
    ...(config.SLUICE_ADMIN_TOKEN ? { adminToken: config.SLUICE_ADMIN_TOKEN } : {}),
  });
  const database = await openServiceDatabase({
    url: config.SLUICE_DB,
    service: 'orchestrator',
    migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
  });
  const messaging = await openServiceMessaging({
    database,
    brokerUrl: config.SLUICE_BROKER,
    source: 'orchestrator',
    registry: createEventRegistry([...shopEvents, ...sagaEvents]),
    logger: rt.logger,
  });
  // Saga lifecycle events go through the same outbox, in the transaction of each transition.
  const events =
    database.kind === 'sqlite'
      ? outboxSagaSink({ sqlite: messaging.outbox as SqliteOutbox })
      : outboxSagaSink({ postgres: messaging.outbox as PgOutbox });
  const store =
    database.kind === 'sqlite'
      ? createSqliteSagaStore({ db: database.db, events })
      : createPostgresSagaStore({ pool: database.pool, schema: database.schema, events });
  await store.migrate();

  const token = bearerTokenInterceptor(config.SLUICE_SERVICE_TOKEN);
  const inventoryPolicy = downstreamPolicy('inventory');
  const paymentPolicy = downstreamPolicy('payment');
  rt.registerPolicy('inventory', inventoryPolicy);
  rt.registerPolicy('payment', paymentPolicy);
  const inventoryChannel = createGrpcChannel({ address: config.INVENTORY_GRPC });
  const paymentChannel = createGrpcChannel({ address: config.PAYMENT_GRPC });
  const inventory = createGrpcClient(inventoryV1.InventoryService, inventoryChannel, {
    interceptors: [tracingInterceptor(), token, resilienceInterceptor(inventoryPolicy)],
  });
  const payment = createGrpcClient(paymentV1.PaymentService, paymentChannel, {
    interceptors: [tracingInterceptor(), token, resilienceInterceptor(paymentPolicy)],
  });
  const orders = createHttpClient({
    origin: config.ORDER_URL,
    name: 'order',
    caller: 'orchestrator',
    resilience: true,
  });
  rt.registerPolicy('order', orders.policy);

  const saga = defineOrderSaga({
    inventory: new InventoryGrpcClient(inventory),
    payment: new PaymentGrpcClient(payment),
    orders: new OrderHttpClient(orders),
    notifications: new BusNotifier(messaging.bus),
  });
  const orchestrator = createOrchestrator({
    store,
    sagas: [saga],
    maxConcurrent: config.SAGA_CONCURRENCY,
    source: 'orchestrator',
  });
  orchestrator.onError(({ sagaId, error }) => rt.logger.error({ sagaId, err: error }, 'saga error'));
  sagaAdminRoutes(rt.app, orchestrator);
  rt.app.readiness.add('saga store', () => orchestrator.list({ limit: 1 }));

  // The config admits only orchestration mode today (choreography is refused at start).
  orchestrator.run();
  // One saga per order: the saga id is the order's, so a redelivered event starts nothing new.
  const placed = await messaging.bus.subscribe<OrderSagaInput>(
    'order.placed',
    { group: 'orchestrator', prefetch: 32 },
    async (event) => {
      await orchestrator.start(saga, event.data, {
        sagaId: orderSagaId(event.data.orderId),
        correlationId: event.correlationid,
        causationId: event.id,
      });
    },
  );

  rt.onShutdown(async () => {
    await placed.stop();
    await orchestrator.close();
    inventoryChannel.close();
    paymentChannel.close();
    await orders.close();
    await messaging.close();
    await store.close?.();
    await database.close();
  });
  return rt;
}
