import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createShopEventRegistry, paymentV1 } from '@sluice/contracts';
import { bearerAuthInterceptor, createGrpcServer, tracingInterceptor } from '@sluice/grpc';
import {
  createServiceRuntime,
  openServiceDatabase,
  openServiceMessaging,
  type ServiceRuntime,
} from '@sluice/service';
import { paymentGrpcService } from './api/payment.grpc-service.js';
import type { PaymentStore } from './application/payment.store.js';
import { ProcessPayment } from './application/process-payment.use-case.js';
import { RefundPayment } from './application/refund-payment.use-case.js';
import type { PaymentConfig } from './config.js';
import { PgPaymentStore } from './infrastructure/pg-payment.store.js';
import { SimulatedCardProcessor } from './infrastructure/simulated-card-processor.js';
import { SqlitePaymentStore } from './infrastructure/sqlite-payment.store.js';

/** The running payment service: HTTP runtime (health, metrics, faults) plus its gRPC server. */
export interface PaymentService {
  readonly runtime: ServiceRuntime;
  listen(): Promise<{ http: string; grpcPort: number }>;
  shutdown(): Promise<void>;
}

/** Builds the payment service (composition root). */
export async function createPaymentService(config: PaymentConfig): Promise<PaymentService> {
  const rt = await createServiceRuntime({
    name: 'payment',
    logLevel: config.LOG_LEVEL,
    ...(config.SLUICE_ADMIN_TOKEN ? { adminToken: config.SLUICE_ADMIN_TOKEN } : {}),
  });
  const database = await openServiceDatabase({
    url: config.SLUICE_DB,
    service: 'payment',
    migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
  });
  const messaging = await openServiceMessaging({
    database,
    brokerUrl: config.SLUICE_BROKER,
    source: 'payment',
    registry: createShopEventRegistry(),
    logger: rt.logger,
  });
  const store: PaymentStore =
    database.kind === 'sqlite'
      ? new SqlitePaymentStore(database.db, messaging.sqliteEvents!)
      : new PgPaymentStore(database.pool, database.schema, messaging.pgEvents!);
  const deps = {
    store,
    processor: new SimulatedCardProcessor({ faults: rt.faults, amountLimit: config.AMOUNT_LIMIT }),
    now: () => new Date(),
    newId: () => `pay-${randomUUID()}`,
    source: 'payment',
  };
  const processPayment = new ProcessPayment(deps);
  const refundPayment = new RefundPayment({ ...deps, newId: () => `ref-${randomUUID()}` });
  rt.app.readiness.add('database', () => store.get('readiness-probe'));

  const grpc = createGrpcServer({
    interceptors: [
      tracingInterceptor(),
      bearerAuthInterceptor({ verify: (token) => token === config.SLUICE_SERVICE_TOKEN }),
    ],
  });
  grpc.add(
    paymentV1.PaymentService,
    paymentGrpcService({ processPayment, refundPayment, faults: rt.faults }),
  );

  rt.onShutdown(async () => {
    await grpc.shutdown();
    await messaging.close();
    await database.close();
  });
  return {
    runtime: rt,
    async listen() {
      const grpcPort = await grpc.listen(`${config.HOST}:${config.PAYMENT_GRPC_PORT}`);
      const http = await rt.listen(config.PAYMENT_PORT, config.HOST);
      rt.logger.info({ grpcPort }, 'payment gRPC listening');
      return { http, grpcPort };
    },
    shutdown: () => rt.shutdown(),
  };
}
