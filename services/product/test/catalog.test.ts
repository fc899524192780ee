import { fileURLToPath } from 'node:url';
import { loadMigrations, migrateSqlite } from '@sluice/service';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../src/application/catalog.use-case.js';
import { SEED_PRODUCTS } from '../src/application/seed-catalog.js';
import { InvalidProductError, ProductNotFoundError } from '../src/domain/product.js';
import { SqliteProductStore } from '../src/infrastructure/sqlite-product.store.js';

describe('catalog on SQLite', () => {
  let catalog: Catalog;
  beforeEach(async () => {
    const db = new Database(':memory:');
    migrateSqlite(db, loadMigrations(fileURLToPath(new URL('../migrations/sqlite', import.meta.url))));
    catalog = new Catalog(new SqliteProductStore(db));
    await catalog.seed(SEED_PRODUCTS);
  });

  it('lists in id order, a page at a time', async () => {
    const first = await catalog.list(5);
    const next = await catalog.list(5, first.at(-1)?.id);
    const all = await catalog.list(100);
    expect([...first, ...next].map((p) => p.id)).toEqual(all.slice(0, 10).map((p) => p.id));
    expect(all).toHaveLength(SEED_PRODUCTS.length);
  });

  it('answers a batch in the order asked, with gaps for unknown ids', async () => {
    const got = await catalog.getMany(['mug', 'nope', 'kettle', 'mug']);
    expect(got.map((p) => p?.id)).toEqual(['mug', undefined, 'kettle', 'mug']);
    await expect(catalog.get('nope')).rejects.toBeInstanceOf(ProductNotFoundError);
  });

  it('refuses an invalid product and keeps the catalog as it was', async () => {
    const bad = { ...SEED_PRODUCTS[0]!, price: { amount: 12.5, currency: 'USD' } };
    await expect(catalog.seed([bad])).rejects.toBeInstanceOf(InvalidProductError);
    expect((await catalog.get('kettle')).price.amount).toBe(3499);
  });
});
