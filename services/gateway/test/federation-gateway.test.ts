import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { type GraphQLSchema, graphql, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFederationGateway, type FederationGateway } from '../src/infrastructure/federation-gateway.js';

/** Serves a schema over HTTP on loopback, recording every request body and its headers. */
async function serve(schema: GraphQLSchema) {
  const seen: { query: string; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw) as { query: string; variables?: Record<string, unknown> };
    seen.push({ query: body.query, headers: req.headers });
    const result = await graphql({ schema, source: body.query, variableValues: body.variables ?? null });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(result));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

// Fixture subgraphs shaped like the shop's: products own Product, orders reference it.
const products = buildSubgraphSchema([
  {
    typeDefs: parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
      type Product @key(fields: "id") { id: ID! name: String! }
      type Query { product(id: ID!): Product }
    `),
    resolvers: {
      Query: { product: (_: unknown, { id }: { id: string }) => ({ id, name: `name-${id}` }) },
      Product: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, name: `name-${ref.id}` }) },
    },
  },
]);
const orders = buildSubgraphSchema([
  {
    typeDefs: parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
      type Product @key(fields: "id", resolvable: false) { id: ID! }
      type OrderItem { product: Product! quantity: Int! }
      type Order @key(fields: "id") { id: ID! items: [OrderItem!]! }
      type Query { ordersByCustomer(customerId: ID!): [Order!]! }
    `),
    resolvers: {
      Query: {
        ordersByCustomer: () => [
          {
            id: 'o1',
            items: Array.from({ length: 25 }, (_, i) => ({ product: { id: `p${i}` }, quantity: 1 })),
          },
          {
            id: 'o2',
            items: Array.from({ length: 25 }, (_, i) => ({ product: { id: `p${i + 25}` }, quantity: 2 })),
          },
        ],
      },
    },
  },
]);

describe('federation gateway', () => {
  let productSubgraph: Awaited<ReturnType<typeof serve>>;
  let orderSubgraph: Awaited<ReturnType<typeof serve>>;
  let gateway: FederationGateway;

  beforeAll(async () => {
    productSubgraph = await serve(products);
    orderSubgraph = await serve(orders);
    gateway = await createFederationGateway({
      subgraphs: [
        { name: 'products', url: productSubgraph.url },
        { name: 'orders', url: orderSubgraph.url },
      ],
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await productSubgraph?.close();
    await orderSubgraph?.close();
  });

  it('resolves 50 order items’ products with one request to the product subgraph, forwarding headers', async () => {
    productSubgraph.seen.length = 0;
    const res = await gateway.execute({
      body: { query: '{ ordersByCustomer(customerId: "c1") { id items { quantity product { id name } } } }' },
      forward: { 'x-user-id': 'ada', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body);
    expect(body.errors).toBeUndefined();
    const items = body.data.ordersByCustomer.flatMap((o: { items: unknown[] }) => o.items);
    expect(items).toHaveLength(50);
    expect(items[49]).toEqual({ quantity: 2, product: { id: 'p49', name: 'name-p49' } });
    expect(productSubgraph.seen).toHaveLength(1);
    expect(productSubgraph.seen[0]?.query).toContain('_entities');
    expect(productSubgraph.seen[0]?.headers['x-user-id']).toBe('ada');
    expect(orderSubgraph.seen.at(-1)?.headers.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-/);
  });

  it('refuses a query deeper than the limit, and too many aliases, before calling any subgraph', async () => {
    const strict = await createFederationGateway({
      subgraphs: [
        { name: 'products', url: productSubgraph.url },
        { name: 'orders', url: orderSubgraph.url },
      ],
      limits: { maxDepth: 3, maxAliases: 5 },
    });
    try {
      orderSubgraph.seen.length = 0;
      const shallow = await strict.execute({
        body: { query: '{ ordersByCustomer(customerId: "c") { id } }' },
        forward: {},
      });
      expect(JSON.parse(shallow.body).errors).toBeUndefined();
      const deep = await strict.execute({
        body: { query: '{ ordersByCustomer(customerId: "c") { items { product { id } } } }' },
        forward: {},
      });
      expect(JSON.parse(deep.body).errors?.[0]?.message).toMatch(/depth/i);
      const aliases = Array.from(
        { length: 6 },
        (_, i) => `a${i}: ordersByCustomer(customerId: "c") { id }`,
      ).join(' ');
      const tooMany = await strict.execute({ body: { query: `{ ${aliases} }` }, forward: {} });
      expect(JSON.parse(tooMany.body).errors?.[0]?.message).toMatch(/alias/i);
      // Only the shallow query reached a subgraph.
      expect(orderSubgraph.seen).toHaveLength(1);
    } finally {
      await strict.stop();
    }
  });

  it('answers malformed requests with a GraphQL error, not a crash', async () => {
    for (const body of [{}, { query: '{ nope }' }, { query: '{' }, { query: 42 }]) {
      const res = await gateway.execute({ body, forward: {} });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(JSON.parse(res.body).errors?.length).toBeGreaterThan(0);
    }
  });
});
