import { buildSubgraphSchema } from '@apollo/subgraph';
import DataLoader from 'dataloader';
import { type GraphQLSchema, parse } from 'graphql';
import type { Catalog } from '../application/catalog.use-case.js';
import type { Product } from '../domain/product.js';

/** The Product subgraph's SDL (Apollo Federation 2). */
export const productTypeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])

  "An amount of money in integer minor units (cents) and an ISO 4217 currency."
  type Money @shareable {
    amount: Int!
    currency: String!
  }

  "A product of the catalog."
  type Product @key(fields: "id") {
    id: ID!
    name: String!
    description: String!
    price: Money!
    imageUrl: String!
  }

  type Query {
    "One product, or null when there is none with this id."
    product(id: ID!): Product
    "Products in id order; page with after = the last id seen. first is 1 to 500 (default 50)."
    products(first: Int = 50, after: ID): [Product!]!
  }
`);

/** Per-request context: a DataLoader so every product look-up of one request is one store query. */
export interface ProductContext {
  readonly products: DataLoader<string, Product | undefined>;
}

/** Builds the per-request context; call it once per GraphQL request. */
export function productContext(catalog: Catalog): ProductContext {
  return { products: new DataLoader((ids) => catalog.getMany(ids), { maxBatchSize: 500 }) };
}

/**
 * The executable Product subgraph. Entity references from the gateway
 * (`_entities`) and `product(id)` both go through the request's DataLoader,
 * so a gateway query that needs 50 products makes one catalog query.
 */
export function productSubgraph(catalog: Catalog): GraphQLSchema {
  return buildSubgraphSchema([
    {
      typeDefs: productTypeDefs,
      resolvers: {
        Query: {
          product: (_: unknown, args: { id: string }, ctx: ProductContext) => ctx.products.load(args.id),
          products: (_: unknown, args: { first?: number | null; after?: string | null }) =>
            catalog.list(args.first ?? 50, args.after ?? undefined),
        },
        Product: {
          __resolveReference: (ref: { id: string }, ctx: ProductContext) => ctx.products.load(ref.id),
        },
      },
    },
  ]);
}
