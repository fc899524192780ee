/**
 * `npm start`: runs every service of the shop as its own process under a
 * supervisor (restart with backoff on a crash), on the embedded defaults
 * (SQLite files and the embedded bus under ./data), waits until each is ready,
 * prints the URLs and a dev token, and stops everything cleanly on Ctrl-C.
 * Services run from their TypeScript sources through tsx: nothing to build.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSupervisor, type ProcessSpec } from '@sluice/service';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.resolve(process.env.SLUICE_DATA_DIR ?? path.join(root, 'data'));
fs.mkdirSync(dataDir, { recursive: true });

const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ports = {
  gateway: port('GATEWAY_PORT', Number(process.env.PORT ?? 8080)),
  product: port('PRODUCT_PORT', 8081),
  order: port('ORDER_PORT', 8082),
  inventory: port('INVENTORY_PORT', 8083),
  payment: port('PAYMENT_PORT', 8084),
  notification: port('NOTIFICATION_PORT', 8085),
  orchestrator: port('ORCHESTRATOR_PORT', 8086),
  inventoryGrpc: port('INVENTORY_GRPC_PORT', 50051),
  paymentGrpc: port('PAYMENT_GRPC_PORT', 50052),
};
const db = (service: string) => process.env.SLUICE_DB ?? `sqlite:${path.join(dataDir, `${service}.db`)}`;
const shared = {
  SLUICE_BROKER: process.env.SLUICE_BROKER ?? `sqlite:${path.join(dataDir, 'bus.db')}`,
  SLUICE_SERVICE_TOKEN: process.env.SLUICE_SERVICE_TOKEN ?? 'dev-service-token',
  SLUICE_SAGA_MODE: process.env.SLUICE_SAGA_MODE ?? 'orchestration',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  HOST: process.env.HOST ?? '127.0.0.1',
};
// The orchestrator refuses any other mode at start; say so once here instead of watching the supervisor restart it.
if (shared.SLUICE_SAGA_MODE !== 'orchestration') {
  console.error(
    `SLUICE_SAGA_MODE=${shared.SLUICE_SAGA_MODE}: only orchestration is built so far (choreography is not).`,
  );
  process.exit(2);
}
const urls = {
  PRODUCT_URL: `http://127.0.0.1:${ports.product}`,
  ORDER_URL: `http://127.0.0.1:${ports.order}`,
  INVENTORY_URL: `http://127.0.0.1:${ports.inventory}`,
  PAYMENT_URL: `http://127.0.0.1:${ports.payment}`,
  NOTIFICATION_URL: `http://127.0.0.1:${ports.notification}`,
  ORCHESTRATOR_URL: `http://127.0.0.1:${ports.orchestrator}`,
  INVENTORY_GRPC: `127.0.0.1:${ports.inventoryGrpc}`,
  PAYMENT_GRPC: `127.0.0.1:${ports.paymentGrpc}`,
};

const service = (name: string, env: Record<string, string | number>): ProcessSpec => ({
  name,
  args: [
    '--conditions=sluice-source',
    '--import',
    'tsx',
    path.join(root, 'services', name, 'src', 'main.ts'),
  ],
  cwd: root,
  env: Object.fromEntries(
    Object.entries({ ...shared, ...urls, SLUICE_DB: db(name), ...env }).map(([k, v]) => [k, String(v)]),
  ),
});

const withGateway = fs.existsSync(path.join(root, 'services/gateway/src/main.ts'));
const processes = [
  service('product', { PRODUCT_PORT: ports.product }),
  service('inventory', { INVENTORY_PORT: ports.inventory, INVENTORY_GRPC_PORT: ports.inventoryGrpc }),
  service('payment', { PAYMENT_PORT: ports.payment, PAYMENT_GRPC_PORT: ports.paymentGrpc }),
  service('notification', { NOTIFICATION_PORT: ports.notification }),
  service('order', { ORDER_PORT: ports.order }),
  service('orchestrator', { ORCHESTRATOR_PORT: ports.orchestrator }),
  ...(withGateway
    ? [
        service('gateway', {
          GATEWAY_PORT: ports.gateway,
          SLUICE_JWT_SECRET_FILE: path.join(dataDir, 'jwt-secret'),
        }),
      ]
    : []),
];

const supervisor = createSupervisor({ processes });
supervisor.on('restart', (name: string, attempt: number, delayMs: number) =>
  console.error(`[supervisor] ${name} exited; restart #${attempt} in ${delayMs} ms`),
);
supervisor.start();

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.error('\n[supervisor] stopping every service…');
  await supervisor.stop();
  console.error('[supervisor] stopped');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

// Wait until every service answers /readyz, then say where everything is.
const ready = async (url: string) => {
  for (let i = 0; i < 600 && !stopping; i++) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
};
const checks = Object.entries({
  product: urls.PRODUCT_URL,
  inventory: urls.INVENTORY_URL,
  payment: urls.PAYMENT_URL,
  notification: urls.NOTIFICATION_URL,
  order: urls.ORDER_URL,
  orchestrator: urls.ORCHESTRATOR_URL,
  ...(withGateway ? { gateway: `http://127.0.0.1:${ports.gateway}` } : {}),
});
const results = await Promise.all(checks.map(async ([name, url]) => [name, await ready(url)] as const));
const notReady = results.filter(([, ok]) => !ok).map(([name]) => name);
if (notReady.length > 0) console.error(`[supervisor] not ready after 150 s: ${notReady.join(', ')}`);

let token = '';
if (withGateway) {
  const issued = spawnSync(
    process.execPath,
    [
      '--conditions=sluice-source',
      '--import',
      'tsx',
      path.join(root, 'services/gateway/src/issue-dev-token.ts'),
    ],
    {
      cwd: root,
      env: { ...process.env, SLUICE_JWT_SECRET_FILE: path.join(dataDir, 'jwt-secret') },
      encoding: 'utf8',
    },
  );
  token = issued.stdout.trim();
  if (token) fs.writeFileSync(path.join(dataDir, 'dev-token'), `${token}\n`);
}

console.log(`
Sluice shop is running (${shared.SLUICE_SAGA_MODE} mode, data in ${path.relative(process.cwd(), dataDir) || '.'}):
${withGateway ? `  gateway (REST + GraphQL + dashboard)  http://localhost:${ports.gateway}/   GraphQL: http://localhost:${ports.gateway}/graphql` : '  (gateway not built yet: services only)'}
  product       ${urls.PRODUCT_URL}      order         ${urls.ORDER_URL}
  inventory     ${urls.INVENTORY_URL}      payment       ${urls.PAYMENT_URL}
  notification  ${urls.NOTIFICATION_URL}      orchestrator  ${urls.ORCHESTRATOR_URL}
${token ? `\nDev token (also in ${path.join(path.relative(process.cwd(), dataDir) || '.', 'dev-token')}):\n  ${token}\n\nTry:  npx sluice order place --customer ada --item mug:2 --wait` : ''}
Ctrl-C stops everything.`);
