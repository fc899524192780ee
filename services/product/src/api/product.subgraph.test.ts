import { graphql } from 'graphql';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../application/catalog.use-case.js';
import type { ProductStore } from '../application/product.store.js';
import { SEED_PRODUCTS } from '../application/seed-catalog.js';
import type { Product } from '../domain/product.js';
import { productContext, productSubgraph } from './product.subgraph.js';

/** A store over the seed list that counts batch look-ups (the SQL stores are tested in test/). */
function countingStore() {
  const calls: string[][] = [];
  const store: ProductStore = {
    list: async ({ limit, after }) =>
      [...SEED_PRODUCTS]
        .sort((a, b) => a.id.localeCompare(b.id))
        .filter((p) => !after || p.id > after)
        .slice(0, limit),
    getMany: async (ids) => {
      calls.push([...ids]);
      return SEED_PRODUCTS.filter((p) => ids.includes(p.id));
    },
    upsert: async () => {},
  };
  return { store, calls };
}

describe('Product subgraph', () => {
  it('resolves 50 entity references from the gateway with one catalog query', async () => {
    const { store, calls } = countingStore();
    const catalog = new Catalog(store);
    const ids = Array.from({ length: 50 }, (_, i) => SEED_PRODUCTS[i % SEED_PRODUCTS.length]?.id);
    const result = await graphql({
      schema: productSubgraph(catalog),
      source:
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id name price { amount currency } } } }',
      variableValues: {
        r: [...ids.map((id) => ({ __typename: 'Product', id })), { __typename: 'Product', id: 'nope' }],
      },
      contextValue: productContext(catalog),
    });
    expect(result.errors).toBeUndefined();
    const entities = result.data?._entities as (Product | null)[];
    expect(entities).toHaveLength(51);
    expect(entities[0]).toMatchObject({ id: ids[0], price: { currency: 'USD' } });
    expect(entities[50]).toBeNull();
    expect(calls).toHaveLength(1);
  });

  it('answers product(id) and pages products', async () => {
    const catalog = new Catalog(countingStore().store);
    const result = await graphql({
      schema: productSubgraph(catalog),
      source: '{ product(id: "mug") { name } products(first: 2, after: "beans") { id } }',
      contextValue: productContext(catalog),
    });
    expect(result.data).toEqual({
      product: { name: 'Stoneware Mug' },
      products: [{ id: 'dripper' }, { id: 'filter' }],
    });
  });
});
