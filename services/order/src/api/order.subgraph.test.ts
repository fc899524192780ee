import { fileURLToPath } from 'node:url';
import { loadMigrations, migrateSqlite } from '@sluice/service';
import Database from 'better-sqlite3';
import { graphql } from 'graphql';
import { beforeEach, describe, expect, it } from 'vitest';
import { PlaceOrder } from '../application/place-order.use-case.js';
import { SqliteOrderStore } from '../infrastructure/sqlite-order.store.js';
import { orderContext, orderSubgraph } from './order.subgraph.js';

describe('Order subgraph', () => {
  let store: SqliteOrderStore;
  let schema: ReturnType<typeof orderSubgraph>;
  beforeEach(() => {
    const db = new Database(':memory:');
    migrateSqlite(db, loadMigrations(fileURLToPath(new URL('../../migrations/sqlite', import.meta.url))));
    store = new SqliteOrderStore(db, () => {});
    const catalog = {
      prices: async (ids: readonly string[]) =>
        new Map(ids.map((id) => [id, { amount: 100, currency: 'USD' }])),
    };
    let n = 0;
    const placeOrder = new PlaceOrder({
      store,
      catalog,
      now: () => new Date(),
      newId: () => `o-${++n}`,
      source: 'order',
    });
    schema = orderSubgraph({ store, placeOrder });
  });

  const run = (source: string, variableValues?: Record<string, unknown>) =>
    graphql({
      schema,
      source,
      contextValue: orderContext(store),
      ...(variableValues ? { variableValues } : {}),
    });

  it('places an order and reads it back with product references for the gateway', async () => {
    const placed = await run(
      `mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status total { amount currency } } }`,
      {
        i: {
          customerId: 'c1',
          items: [{ productId: 'mug', quantity: 3 }],
          payment: { cardToken: 'tok_ok' },
          idempotencyKey: 'k',
        },
      },
    );
    expect(placed.errors).toBeUndefined();
    expect(placed.data?.placeOrder).toMatchObject({
      status: 'PENDING',
      total: { amount: 300, currency: 'USD' },
    });
    const id = (placed.data?.placeOrder as { id: string } | undefined)?.id;
    const read = await run(
      `{ ordersByCustomer(customerId: "c1") { id items { quantity product { id } } history { status } } }`,
    );
    expect(read.data?.ordersByCustomer).toEqual([
      { id, items: [{ quantity: 3, product: { id: 'mug' } }], history: [{ status: 'PENDING' }] },
    ]);
  });

  it('resolves Order entities by id, null for unknown ones', async () => {
    await run(
      `mutation { placeOrder(input: { customerId: "c1", items: [{ productId: "mug", quantity: 1 }], payment: { cardToken: "tok_ok" } }) { id } }`,
    );
    const result = await run(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id status } } }',
      {
        r: [
          { __typename: 'Order', id: 'o-1' },
          { __typename: 'Order', id: 'nope' },
        ],
      },
    );
    expect(result.data?._entities).toEqual([{ id: 'o-1', status: 'PENDING' }, null]);
  });

  it('reports an invalid order as a GraphQL error and writes nothing', async () => {
    const result = await run(
      `mutation { placeOrder(input: { customerId: "c1", items: [], payment: { cardToken: "tok_ok" } }) { id } }`,
    );
    expect(result.errors?.[0]?.message).toMatch(/at least one item/);
    expect(await store.listByCustomer('c1', 10)).toEqual([]);
  });
});
