import { createServiceRuntime, type ServiceRuntime } from '@sluice/service';
import { adminRoutes } from './api/admin.routes.js';
import { authHook } from './api/auth.hook.js';
import { edgeRoutes } from './api/edge.routes.js';
import { graphqlGatewayRoute } from './api/graphql.route.js';
import { orderEventsRoute } from './api/order-events.route.js';
import { createOrderStatusFeed, type OrderStatusFeed } from './application/order-status-feed.js';
import type { GatewayConfig } from './config.js';
import { jwtSecretFile, loadJwtSecret } from './dev-token.js';
import { brokerHandle } from './infrastructure/broker.js';
import { createDownstreams } from './infrastructure/downstreams.js';
import { createFederationGateway, type FederationGateway } from './infrastructure/federation-gateway.js';
import { httpOrderStatusSource } from './infrastructure/http-order-status.source.js';
import { createTokenVerifier } from './infrastructure/jwt.js';

/** Tuning the composition root takes besides the environment (tests shorten waits). */
export interface GatewayTuning {
  /** First wait between attempts to compose the subgraphs, in ms (doubling up to 5 000). Default 250. */
  readonly composeRetryMs?: number;
  /** SSE heartbeat interval, in ms. Default 15 000. */
  readonly heartbeatMs?: number;
  /** Shortest poll interval of an order's live status, in ms. Default 200. */
  readonly statusPollMs?: number;
}

/** The gateway service: its runtime plus what tests and `main` look at. */
export interface GatewayService extends ServiceRuntime {
  /** Resolves once the GraphQL subgraphs are composed (never rejects; retries until shutdown). */
  readonly composed: Promise<void>;
  readonly statusFeed: OrderStatusFeed;
  /** The JWT secret in use (from `SLUICE_JWT_SECRET` or its file). */
  readonly jwtSecret: string;
}

/** Builds the gateway (composition root); `listen` is left to the caller. */
export async function createGatewayService(
  config: GatewayConfig,
  tuning: GatewayTuning = {},
): Promise<GatewayService> {
  let gateway: FederationGateway | undefined;
  const rt = await createServiceRuntime({
    name: 'gateway',
    logLevel: config.LOG_LEVEL,
    ...(config.SLUICE_ADMIN_TOKEN ? { adminToken: config.SLUICE_ADMIN_TOKEN } : {}),
  });
  const jwtSecret = loadJwtSecret(config.SLUICE_JWT_SECRET, jwtSecretFile(config));
  const reports: { downstream: string; policy: { metrics(): unknown; describe?(): unknown } }[] = [];
  const services = createDownstreams(
    {
      product: config.PRODUCT_URL,
      order: config.ORDER_URL,
      inventory: config.INVENTORY_URL,
      payment: config.PAYMENT_URL,
      notification: config.NOTIFICATION_URL,
      orchestrator: config.ORCHESTRATOR_URL,
    },
    (name, policy) => {
      rt.registerPolicy(name, policy);
      reports.push({ downstream: name, policy });
    },
  );
  const broker = brokerHandle(config.SLUICE_BROKER);
  const statusFeed = createOrderStatusFeed({
    source: httpOrderStatusSource(services.order),
    ...(tuning.statusPollMs ? { minIntervalMs: tuning.statusPollMs } : {}),
  });

  authHook(rt.app, createTokenVerifier(jwtSecret));
  edgeRoutes(rt.app, services);
  orderEventsRoute(rt.app, {
    feed: statusFeed,
    ...(tuning.heartbeatMs ? { heartbeatMs: tuning.heartbeatMs } : {}),
  });
  graphqlGatewayRoute(rt.app, () => gateway);
  adminRoutes(rt.app, {
    services,
    broker,
    adminToken: config.SLUICE_ADMIN_TOKEN,
    selfResilience: () =>
      reports.map((r) => ({
        downstream: r.downstream,
        policies: r.policy.describe?.(),
        metrics: r.policy.metrics(),
      })),
  });
  rt.app.readiness.add('graphql', () => {
    if (gateway === undefined) throw new Error('subgraphs not composed yet');
  });

  // Compose in the background, retrying with backoff until the subgraphs answer.
  let stopped = false;
  let wake: (() => void) | undefined;
  const composed = (async () => {
    let delay = tuning.composeRetryMs ?? 250;
    while (!stopped) {
      try {
        gateway = await createFederationGateway({
          subgraphs: [
            { name: 'products', url: `${config.PRODUCT_URL}/graphql` },
            { name: 'orders', url: `${config.ORDER_URL}/graphql` },
          ],
        });
        rt.logger.info('GraphQL subgraphs composed');
        return;
      } catch (err) {
        rt.logger.warn({ err: (err as Error).message, retryInMs: delay }, 'cannot compose the subgraphs yet');
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, delay).unref();
        });
        delay = Math.min(5_000, delay * 2);
      }
    }
  })();

  rt.onShutdown(async () => {
    stopped = true;
    wake?.();
    statusFeed.close();
    await gateway?.stop();
    await broker.close();
    await Promise.all(Object.values(services).map((c) => c.close()));
  });
  return Object.assign(rt, { composed, statusFeed, jwtSecret });
}
