import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createHttpServer, type HttpServer } from '@sluice/http';
import { graphqlRoute } from '@sluice/service';
import { parse } from 'graphql';
import { createGatewayService, type GatewayService, type GatewayTuning } from '../src/app.js';
import { readConfig } from '../src/config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A free loopback port (the OS picks it; closed before use). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Polls `check` until it returns true (bounded; integration tests only). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition') {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A shop service started as a child process (its own `main.ts`). */
export interface ServiceProcess {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `services/<name>/src/main.ts` as a child process and waits for `/readyz`. */
export async function startServiceProcess(
  name: string,
  env: Record<string, string>,
  port: number,
): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=sluice-source', '--import', 'tsx', path.join(root, `services/${name}/src/main.ts`)],
    {
      cwd: root,
      env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${url}/readyz`)).ok, 60_000, `the ${name} service`);
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The real product service as a child process, on its own SQLite file. */
export async function startProductService(
  dir: string,
  fixedPort?: number,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const port = fixedPort ?? (await freePort());
  return startServiceProcess(
    'product',
    { PRODUCT_PORT: String(port), SLUICE_DB: `sqlite:${path.join(dir, 'product.db')}`, ...env },
    port,
  );
}

/** The real order service as a child process (its own SQLite file, the embedded broker in `dir`). */
export async function startOrderService(dir: string, productUrl: string): Promise<ServiceProcess> {
  const port = await freePort();
  return startServiceProcess(
    'order',
    {
      ORDER_PORT: String(port),
      SLUICE_DB: `sqlite:${path.join(dir, 'order.db')}`,
      SLUICE_BROKER: `sqlite:${path.join(dir, 'bus.db')}`,
      PRODUCT_URL: productUrl,
    },
    port,
  );
}

/** An order as the order service's REST API answers (fixture data). */
export interface FixtureOrder {
  id: string;
  customerId: string;
  status: 'pending' | 'confirmed' | 'cancelled';
  reason?: string;
  items: { productId: string; quantity: number; unitPrice: { amount: number; currency: string } }[];
  total: { amount: number; currency: string };
}

// The order subgraph's shape (a subset of services/order's SDL), served by the fixture.
const orderSdl = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
  type Money @shareable { amount: Int! currency: String! }
  type Product @key(fields: "id", resolvable: false) { id: ID! }
  enum OrderStatus { PENDING CONFIRMED CANCELLED }
  type OrderItem { product: Product! quantity: Int! unitPrice: Money! }
  type Order @key(fields: "id") { id: ID! customerId: ID! status: OrderStatus! reason: String items: [OrderItem!]! total: Money! }
  input OrderItemInput { productId: ID! quantity: Int! }
  input PaymentInput { cardToken: String! }
  input PlaceOrderInput { customerId: ID! items: [OrderItemInput!]! payment: PaymentInput! idempotencyKey: String }
  type Query { order(id: ID!): Order ordersByCustomer(customerId: ID!, first: Int = 20): [Order!]! }
  type Mutation { placeOrder(input: PlaceOrderInput!): Order! }
`);

/**
 * A stand-in for the order service where a test must script it (statuses
 * changed at will, 50-line orders the real one refuses, every request
 * recorded): its REST routes and its subgraph over an in-memory map, on a
 * real `@sluice/http` server. `real-order.test.ts` runs the real one.
 */
export async function startOrderFixture() {
  const orders = new Map<string, FixtureOrder>();
  const calls: { method: string; url: string; headers: Record<string, unknown>; body: unknown }[] = [];
  const byKey = new Map<string, string>();
  const app: HttpServer = await createHttpServer({ openapi: false });
  app.addHook('onRequest', async (request) => {
    calls.push({
      method: request.method,
      url: request.url,
      headers: { ...request.headers },
      body: undefined,
    });
  });
  app.addHook('preHandler', async (request) => {
    const last = calls.at(-1);
    if (last) last.body = request.body;
  });
  const place = (
    body: { customerId: string; items: { productId: string; quantity: number }[] },
    key: string,
  ) => {
    const known = byKey.get(key);
    if (known) return { order: orders.get(known) as FixtureOrder, replayed: true };
    const items = body.items.map((i) => ({ ...i, unitPrice: { amount: 100, currency: 'USD' } }));
    const order: FixtureOrder = {
      id: `o-${randomUUID()}`,
      customerId: body.customerId,
      status: 'pending',
      items,
      total: { amount: items.reduce((n, i) => n + i.quantity * 100, 0), currency: 'USD' },
    };
    orders.set(order.id, order);
    byKey.set(key, order.id);
    return { order, replayed: false };
  };
  app.post('/api/v1/orders', async (request, reply) => {
    const { order, replayed } = place(request.body as never, String(request.headers['idempotency-key']));
    if (replayed) reply.header('idempotent-replayed', 'true');
    return reply.code(202).send({ id: order.id, status: order.status });
  });
  app.get('/api/v1/orders/:id', async (request, reply) => {
    const order = orders.get((request.params as { id: string }).id);
    if (!order)
      return reply.code(404).type('application/problem+json').send({
        status: 404,
        code: 'not_found',
        reason: 'ORDER_NOT_FOUND',
        title: 'Not found',
        detail: 'no such order',
      });
    // The real service adds these; the gateway must leave them out.
    return { ...order, createdAt: 'x', updatedAt: 'x', history: [] };
  });
  app.get('/api/v1/orders', async (request) => ({
    items: [...orders.values()].filter(
      (o) => o.customerId === (request.query as { customerId: string }).customerId,
    ),
  }));
  const gqlOrder = (o: FixtureOrder) => ({
    ...o,
    status: o.status.toUpperCase(),
    items: o.items.map((i) => ({
      product: { id: i.productId },
      quantity: i.quantity,
      unitPrice: i.unitPrice,
    })),
  });
  graphqlRoute(app, {
    schema: buildSubgraphSchema([
      {
        typeDefs: orderSdl,
        resolvers: {
          Query: {
            order: (_: unknown, { id }: { id: string }) => {
              const o = orders.get(id);
              return o && gqlOrder(o);
            },
            ordersByCustomer: (_: unknown, { customerId }: { customerId: string }) =>
              [...orders.values()].filter((o) => o.customerId === customerId).map(gqlOrder),
          },
          Mutation: {
            placeOrder: (_: unknown, { input }: { input: never }) =>
              gqlOrder(
                place(input, (input as { idempotencyKey?: string }).idempotencyKey ?? randomUUID()).order,
              ),
          },
        } as never,
      },
    ]),
    context: () => ({}),
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, orders, calls, close: () => app.close() };
}

/** The gateway in process, pointed at the given services; `dir` holds its data. */
export async function startGateway(
  dir: string,
  env: Record<string, string>,
  tuning: GatewayTuning = {},
): Promise<{ url: string; service: GatewayService }> {
  const config = readConfig({
    LOG_LEVEL: 'silent',
    SLUICE_DATA_DIR: dir,
    SLUICE_BROKER: `sqlite:${path.join(dir, 'bus.db')}`,
    // Nothing listens on port 9 (discard): services the test does not start are unreachable.
    INVENTORY_URL: 'http://127.0.0.1:9',
    PAYMENT_URL: 'http://127.0.0.1:9',
    NOTIFICATION_URL: 'http://127.0.0.1:9',
    ORCHESTRATOR_URL: 'http://127.0.0.1:9',
    ...env,
  });
  const service = await createGatewayService(config, { composeRetryMs: 100, ...tuning });
  const url = await service.listen(0);
  return { url, service };
}

/** A fresh temporary directory. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-gateway-'));
}
