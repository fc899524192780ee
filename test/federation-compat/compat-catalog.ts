/**
 * The data set Apollo's subgraph compatibility suite expects of the `products`
 * subgraph (its COMPATIBILITY.md "Expected Data Sets"), behind batch look-ups
 * like the shop's catalog store, counting each batch so tests can prove the
 * DataLoader batching.
 */

/** A product, stored with references to its user and research by key. */
export interface CompatProduct {
  readonly id: string;
  readonly sku: string;
  readonly package: string;
  readonly variation: { readonly id: string };
  readonly dimensions: { readonly size: string; readonly weight: number; readonly unit: string };
  readonly notes: string | null;
  /** The creating user's email. */
  readonly createdBy: string;
  readonly researchCaseNumbers: readonly string[];
}

/** A user as the products subgraph knows it. */
export interface CompatUser {
  readonly email: string;
  readonly name: string;
  readonly totalProductsCreated: number | null;
  readonly yearsOfEmployment: number | null;
}

/** A product research entry. */
export interface CompatResearch {
  readonly study: { readonly caseNumber: string; readonly description: string };
  readonly outcome: string | null;
}

/** Any of the three `@key`s of `Product`: `id`, `sku package`, or `sku variation { id }`. */
export type ProductKey =
  | { readonly id: string }
  | { readonly sku: string; readonly package: string }
  | { readonly sku: string; readonly variation: { readonly id: string } };

/** A stable cache key for a {@link ProductKey} (DataLoader's `cacheKeyFn`). */
export function productKeyOf(key: ProductKey): string {
  if ('id' in key) return `id:${key.id}`;
  if ('package' in key) return `sku-package:${key.sku}\u0000${key.package}`;
  return `sku-variation:${key.sku}\u0000${key.variation.id}`;
}

const dimensions = { size: 'small', weight: 1, unit: 'kg' } as const;
const SUPPORT = 'support@apollographql.com';

const PRODUCTS: readonly CompatProduct[] = [
  {
    id: 'apollo-federation',
    sku: 'federation',
    package: '@apollo/federation',
    variation: { id: 'OSS' },
    dimensions,
    notes: null,
    createdBy: SUPPORT,
    researchCaseNumbers: ['1234'],
  },
  {
    id: 'apollo-studio',
    sku: 'studio',
    package: '',
    variation: { id: 'platform' },
    dimensions,
    notes: null,
    createdBy: SUPPORT,
    researchCaseNumbers: ['1235'],
  },
];

const USERS: readonly CompatUser[] = [
  { email: SUPPORT, name: 'Jane Smith', totalProductsCreated: 1337, yearsOfEmployment: 10 },
];

const RESEARCH: readonly CompatResearch[] = [
  { study: { caseNumber: '1234', description: 'Federation Study' }, outcome: null },
  { study: { caseNumber: '1235', description: 'Studio Study' }, outcome: null },
];

const DEPRECATED_PRODUCT = {
  sku: 'apollo-federation-v1',
  package: '@apollo/federation-v1',
  reason: 'Migrate to Federation V2',
  createdBy: SUPPORT,
} as const;

const INVENTORIES = [{ id: 'apollo-oss', deprecatedProducts: [DEPRECATED_PRODUCT] }] as const;

/** A deprecated product. */
export type CompatDeprecatedProduct = typeof DEPRECATED_PRODUCT;
/** An inventory (an `@interfaceObject` here: the inventory subgraph owns the interface). */
export type CompatInventory = (typeof INVENTORIES)[number];

/** The compatibility data set with batch look-ups: each method is one store call for many keys. */
export interface CompatCatalog {
  /** The product for each key, in order (`undefined` where none matches). */
  productsByKeys(keys: readonly ProductKey[]): Promise<(CompatProduct | undefined)[]>;
  /** The user for each email, in order. */
  usersByEmails(emails: readonly string[]): Promise<(CompatUser | undefined)[]>;
  /** The research entry for each case number, in order. */
  researchByCaseNumbers(caseNumbers: readonly string[]): Promise<(CompatResearch | undefined)[]>;
  /** The deprecated product for each `{ sku, package }`, in order. */
  deprecatedProducts(
    keys: readonly { readonly sku: string; readonly package: string }[],
  ): Promise<(CompatDeprecatedProduct | undefined)[]>;
  /** The inventory for each id, in order. */
  inventories(ids: readonly string[]): Promise<(CompatInventory | undefined)[]>;
  /** Every product batch so far, each the list of keys it was asked for. */
  readonly productBatches: readonly (readonly ProductKey[])[];
}

/** Creates the catalog over the compatibility data set. */
export function createCompatCatalog(): CompatCatalog {
  const productBatches: ProductKey[][] = [];
  const matches = (p: CompatProduct, key: ProductKey) => {
    if ('id' in key) return p.id === key.id;
    if ('package' in key) return p.sku === key.sku && p.package === key.package;
    return p.sku === key.sku && p.variation.id === key.variation?.id;
  };
  return {
    productBatches,
    async productsByKeys(keys) {
      productBatches.push([...keys]);
      return keys.map((key) => PRODUCTS.find((p) => matches(p, key)));
    },
    async usersByEmails(emails) {
      return emails.map((email) => USERS.find((u) => u.email === email));
    },
    async researchByCaseNumbers(caseNumbers) {
      return caseNumbers.map((n) => RESEARCH.find((r) => r.study.caseNumber === n));
    },
    async deprecatedProducts(keys) {
      return keys.map((k) =>
        k.sku === DEPRECATED_PRODUCT.sku && k.package === DEPRECATED_PRODUCT.package
          ? DEPRECATED_PRODUCT
          : undefined,
      );
    },
    async inventories(ids) {
      return ids.map((id) => INVENTORIES.find((i) => i.id === id));
    },
  };
}
