import { randomUUID } from 'node:crypto';
import { buildSubgraphSchema } from '@apollo/subgraph';
import DataLoader from 'dataloader';
import { type GraphQLSchema, parse } from 'graphql';
import type { OrderStore } from '../application/order.store.js';
import type { PlaceOrder } from '../application/place-order.use-case.js';
import type { Order, OrderLine } from '../domain/order.js';

/** The Order subgraph's SDL (Apollo Federation 2). `Product` is owned by the product subgraph. */
export const orderTypeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])

  "An amount of money in integer minor units (cents) and an ISO 4217 currency."
  type Money @shareable {
    amount: Int!
    currency: String!
  }

  type Product @key(fields: "id", resolvable: false) {
    id: ID!
  }

  enum OrderStatus {
    PENDING
    CONFIRMED
    CANCELLED
  }

  type OrderItem {
    "Resolved by the product subgraph (the gateway batches the look-ups)."
    product: Product!
    quantity: Int!
    unitPrice: Money!
  }

  type StatusChange {
    status: OrderStatus!
    at: String!
    reason: String
  }

  type Order @key(fields: "id") {
    id: ID!
    customerId: ID!
    status: OrderStatus!
    "Why it was cancelled, e.g. INVENTORY_INSUFFICIENT_STOCK or PAYMENT_DECLINED."
    reason: String
    items: [OrderItem!]!
    total: Money!
    createdAt: String!
    updatedAt: String!
    history: [StatusChange!]!
  }

  input OrderItemInput {
    productId: ID!
    quantity: Int!
  }

  input PaymentInput {
    "A card token: tok_ok is charged, tok_declined is declined."
    cardToken: String!
  }

  input PlaceOrderInput {
    customerId: ID!
    items: [OrderItemInput!]!
    payment: PaymentInput!
    "The same key places one order; a repeat returns it. Default: a new key (no deduplication)."
    idempotencyKey: String
  }

  type Query {
    order(id: ID!): Order
    "A customer's orders, newest first; first is 1 to 100 (default 20)."
    ordersByCustomer(customerId: ID!, first: Int = 20): [Order!]!
  }

  type Mutation {
    "Places an order; it starts PENDING and the flow runs asynchronously."
    placeOrder(input: PlaceOrderInput!): Order!
  }
`);

/** Per-request context. */
export interface OrderContext {
  readonly orders: DataLoader<string, Order | undefined>;
  /** The authenticated user (from the gateway), for the events' `userid`. */
  readonly userId?: string;
  readonly signal?: AbortSignal;
}

/** Builds the per-request context; call it once per GraphQL request. */
export function orderContext(
  store: OrderStore,
  extra: { userId?: string; signal?: AbortSignal } = {},
): OrderContext {
  return {
    orders: new DataLoader(async (ids) => Promise.all(ids.map((id) => store.get(id)))),
    ...extra,
  };
}

/** The executable Order subgraph. */
export function orderSubgraph(deps: { store: OrderStore; placeOrder: PlaceOrder }): GraphQLSchema {
  return buildSubgraphSchema([
    {
      typeDefs: orderTypeDefs,
      resolvers: {
        Query: {
          order: (_: unknown, args: { id: string }, ctx: OrderContext) => ctx.orders.load(args.id),
          ordersByCustomer: (_: unknown, args: { customerId: string; first?: number | null }) =>
            deps.store.listByCustomer(args.customerId, Math.max(1, Math.min(100, args.first ?? 20))),
        },
        Mutation: {
          placeOrder: async (_: unknown, { input }: { input: PlaceOrderInputArgs }, ctx: OrderContext) => {
            const { order } = await deps.placeOrder.execute(
              {
                customerId: input.customerId,
                items: input.items,
                payment: input.payment,
                idempotencyKey: input.idempotencyKey ?? randomUUID(),
                ...(ctx.userId ? { userId: ctx.userId } : {}),
              },
              ctx.signal,
            );
            return order;
          },
        },
        Order: {
          __resolveReference: (ref: { id: string }, ctx: OrderContext) => ctx.orders.load(ref.id),
          status: (o: Order) => o.status.toUpperCase(),
          createdAt: (o: Order) => o.createdAt.toISOString(),
          updatedAt: (o: Order) => o.updatedAt.toISOString(),
          history: (o: Order) =>
            o.history.map((h) => ({ ...h, status: h.status.toUpperCase(), at: h.at.toISOString() })),
        },
        OrderItem: {
          product: (line: OrderLine) => ({ __typename: 'Product', id: line.productId }),
        },
      },
    },
  ]);
}

interface PlaceOrderInputArgs {
  customerId: string;
  items: { productId: string; quantity: number }[];
  payment: { cardToken: string };
  idempotencyKey?: string | null;
}
