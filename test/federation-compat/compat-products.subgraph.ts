import { buildSubgraphSchema } from '@apollo/subgraph';
import DataLoader from 'dataloader';
import { type GraphQLSchema, parse } from 'graphql';
import {
  type CompatCatalog,
  type CompatDeprecatedProduct,
  type CompatInventory,
  type CompatProduct,
  type CompatResearch,
  type CompatUser,
  type ProductKey,
  productKeyOf,
} from './compat-catalog.js';

/**
 * The `products` schema of Apollo's subgraph compatibility suite
 * (`@apollo/federation-subgraph-compatibility-tests` 1.2.1, its `products.graphql`):
 * every Federation 2 directive the suite checks, on the types it queries.
 */
export const compatProductsTypeDefs = parse(/* GraphQL */ `
  extend schema
    @link(
      url: "https://specs.apollo.dev/federation/v2.3"
      import: [
        "@composeDirective"
        "@extends"
        "@external"
        "@key"
        "@inaccessible"
        "@interfaceObject"
        "@override"
        "@provides"
        "@requires"
        "@shareable"
        "@tag"
      ]
    )
    @link(url: "https://myspecs.dev/myCustomDirective/v1.0", import: ["@custom"])
    @composeDirective(name: "@custom")

  directive @custom on OBJECT

  type Product
    @custom
    @key(fields: "id")
    @key(fields: "sku package")
    @key(fields: "sku variation { id }") {
    id: ID!
    sku: String
    package: String
    variation: ProductVariation
    dimensions: ProductDimension
    createdBy: User @provides(fields: "totalProductsCreated")
    notes: String @tag(name: "internal")
    research: [ProductResearch!]!
  }

  type DeprecatedProduct @key(fields: "sku package") {
    sku: String!
    package: String!
    reason: String
    createdBy: User
  }

  type ProductVariation {
    id: ID!
  }

  type ProductResearch @key(fields: "study { caseNumber }") {
    study: CaseStudy!
    outcome: String
  }

  type CaseStudy {
    caseNumber: ID!
    description: String
  }

  type ProductDimension @shareable {
    size: String
    weight: Float
    unit: String @inaccessible
  }

  extend type Query {
    product(id: ID!): Product
    deprecatedProduct(sku: String!, package: String!): DeprecatedProduct
      @deprecated(reason: "Use product query instead")
  }

  extend type User @key(fields: "email") {
    averageProductsCreatedPerYear: Int @requires(fields: "totalProductsCreated yearsOfEmployment")
    email: ID! @external
    name: String @override(from: "users")
    totalProductsCreated: Int @external
    yearsOfEmployment: Int! @external
  }

  type Inventory @interfaceObject @key(fields: "id") {
    id: ID!
    deprecatedProducts: [DeprecatedProduct!]!
  }
`);

/**
 * Per-request context: one DataLoader per entity type, so every look-up of one
 * request (a gateway `_entities` call with many representations, or fields
 * resolved side by side) is one batched catalog call per entity type — as in
 * the shop's product subgraph.
 */
export interface CompatProductsContext {
  readonly products: DataLoader<ProductKey, CompatProduct | undefined, string>;
  readonly users: DataLoader<string, CompatUser | undefined>;
  readonly research: DataLoader<string, CompatResearch | undefined>;
  readonly deprecatedProducts: DataLoader<DeprecatedProductKey, CompatDeprecatedProduct | undefined, string>;
  readonly inventories: DataLoader<string, CompatInventory | undefined>;
}

/** The `@key(fields: "sku package")` of `DeprecatedProduct`. */
export interface DeprecatedProductKey {
  readonly sku: string;
  readonly package: string;
}

/** Builds the per-request context; call it once per GraphQL request. */
export function compatProductsContext(catalog: CompatCatalog): CompatProductsContext {
  return {
    products: new DataLoader((keys) => catalog.productsByKeys(keys), { cacheKeyFn: productKeyOf }),
    users: new DataLoader((emails) => catalog.usersByEmails(emails)),
    research: new DataLoader((caseNumbers) => catalog.researchByCaseNumbers(caseNumbers)),
    deprecatedProducts: new DataLoader((keys) => catalog.deprecatedProducts(keys), {
      cacheKeyFn: (k) => `${k.sku}\u0000${k.package}`,
    }),
    inventories: new DataLoader((ids) => catalog.inventories(ids)),
  };
}

/** A `User` representation from the gateway: the key, plus the `@requires` fields when it asks for them. */
interface UserRepresentation {
  readonly email: string;
  readonly totalProductsCreated?: number | null;
  readonly yearsOfEmployment?: number | null;
}

type Ctx = CompatProductsContext;

/**
 * The executable compatibility `products` subgraph, built like the shop's:
 * `buildSubgraphSchema([{ typeDefs, resolvers }])` from @apollo/subgraph, every
 * entity reference (`__resolveReference`) and look-up resolved through the
 * request's DataLoaders.
 */
export function compatProductsSubgraph(): GraphQLSchema {
  return buildSubgraphSchema([
    {
      typeDefs: compatProductsTypeDefs,
      resolvers: {
        Query: {
          product: (_: unknown, args: { id: string }, ctx: Ctx) => ctx.products.load({ id: args.id }),
          deprecatedProduct: (_: unknown, args: DeprecatedProductKey, ctx: Ctx) =>
            ctx.deprecatedProducts.load({ sku: args.sku, package: args.package }),
        },
        Product: {
          // A reference arrives under any of the three keys; the loader batches them all into one call.
          __resolveReference: (ref: ProductKey, ctx: Ctx) => ctx.products.load(ref),
          createdBy: (product: CompatProduct, _: unknown, ctx: Ctx) => ctx.users.load(product.createdBy),
          research: async (product: CompatProduct, _: unknown, ctx: Ctx) => {
            const found = await ctx.research.loadMany(product.researchCaseNumbers);
            const failed = found.find((r) => r instanceof Error);
            if (failed) throw failed;
            return found.filter((r): r is CompatResearch => r !== undefined);
          },
        },
        DeprecatedProduct: {
          __resolveReference: (ref: DeprecatedProductKey, ctx: Ctx) =>
            ctx.deprecatedProducts.load({ sku: ref.sku, package: ref.package }),
          createdBy: (p: { createdBy: string }, _: unknown, ctx: Ctx) => ctx.users.load(p.createdBy),
        },
        ProductResearch: {
          __resolveReference: (ref: { study: { caseNumber: string } }, ctx: Ctx) =>
            ctx.research.load(ref.study.caseNumber),
        },
        User: {
          // The gateway sends the @requires fields it fetched from the users subgraph; they win over ours.
          __resolveReference: async (ref: UserRepresentation, ctx: Ctx) => {
            const user = await ctx.users.load(ref.email);
            if (!user) return null;
            return {
              ...user,
              ...(ref.totalProductsCreated != null ? { totalProductsCreated: ref.totalProductsCreated } : {}),
              ...(ref.yearsOfEmployment != null ? { yearsOfEmployment: ref.yearsOfEmployment } : {}),
            };
          },
          averageProductsCreatedPerYear: (user: CompatUser) =>
            user.totalProductsCreated && user.yearsOfEmployment
              ? Math.round(user.totalProductsCreated / user.yearsOfEmployment)
              : null,
        },
        Inventory: {
          __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.inventories.load(ref.id),
        },
      },
    },
  ]);
}
