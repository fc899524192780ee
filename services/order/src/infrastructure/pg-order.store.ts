import type { EventEnvelope } from '@sluice/contracts';
import { assertSchemaName, type PgEventWriter, withPgTransaction } from '@sluice/service';
import type pg from 'pg';
import type { OrderStore } from '../application/order.store.js';
import type { Order, OrderLine, OrderStatus, StatusChange } from '../domain/order.js';

interface Row {
  id: string;
  customer_id: string;
  status: OrderStatus;
  reason: string | null;
  message: string | null;
  items: OrderLine[];
  total_amount: string;
  currency: string;
  history: (Omit<StatusChange, 'at'> & { at: string })[];
  created_at: Date;
  updated_at: Date;
}

/** The order store on PostgreSQL (one schema per service); each write and its events commit together. */
export class PgOrderStore implements OrderStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly writeEvents: PgEventWriter,
  ) {
    assertSchemaName(schema);
  }

  async get(id: string) {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM ${this.schema}.orders WHERE id = $1`, [id]);
    return rows[0] && toOrder(rows[0]);
  }

  async findByKey(key: string) {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM ${this.schema}.orders WHERE idempotency_key = $1`,
      [key],
    );
    return rows[0] && toOrder(rows[0]);
  }

  async listByCustomer(customerId: string, limit: number) {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM ${this.schema}.orders WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
      [customerId, limit],
    );
    return rows.map(toOrder);
  }

  async insert(order: Order, idempotencyKey: string, events: readonly EventEnvelope[]): Promise<Order> {
    const inserted = await withPgTransaction(this.pool, async (c) => {
      const { rowCount } = await c.query(
        `INSERT INTO ${this.schema}.orders (id, customer_id, idempotency_key, status, reason, message, items, total_amount,
           currency, history, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (idempotency_key) DO NOTHING`,
        [
          order.id,
          order.customerId,
          idempotencyKey,
          order.status,
          order.reason ?? null,
          order.message ?? null,
          JSON.stringify(order.items),
          order.total.amount,
          order.total.currency,
          JSON.stringify(order.history),
          order.createdAt,
          order.updatedAt,
        ],
      );
      if (rowCount === 0) return false;
      await this.writeEvents(c, events);
      return true;
    });
    return inserted ? order : ((await this.findByKey(idempotencyKey)) as Order);
  }

  async update(order: Order, expected: OrderStatus, events: readonly EventEnvelope[]): Promise<boolean> {
    return withPgTransaction(this.pool, async (c) => {
      const { rowCount } = await c.query(
        `UPDATE ${this.schema}.orders SET status = $2, reason = $3, message = $4, history = $5, updated_at = $6
         WHERE id = $1 AND status = $7`,
        [
          order.id,
          order.status,
          order.reason ?? null,
          order.message ?? null,
          JSON.stringify(order.history),
          order.updatedAt,
          expected,
        ],
      );
      if (rowCount === 0) return false;
      await this.writeEvents(c, events);
      return true;
    });
  }
}

function toOrder(r: Row): Order {
  return {
    id: r.id,
    customerId: r.customer_id,
    items: r.items,
    total: { amount: Number(r.total_amount), currency: r.currency },
    status: r.status,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.message ? { message: r.message } : {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    history: r.history.map((h) => ({ ...h, at: new Date(h.at) })),
  };
}
