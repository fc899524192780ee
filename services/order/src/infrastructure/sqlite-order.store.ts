import type { EventEnvelope } from '@sluice/contracts';
import type { SqliteEventWriter } from '@sluice/service';
import type Database from 'better-sqlite3';
import type { OrderStore } from '../application/order.store.js';
import type { Order, OrderLine, OrderStatus, StatusChange } from '../domain/order.js';

interface Row {
  id: string;
  customer_id: string;
  idempotency_key: string;
  status: OrderStatus;
  reason: string | null;
  message: string | null;
  items: string;
  total_amount: number;
  currency: string;
  history: string;
  created_at: string;
  updated_at: string;
}

/** The order store on SQLite; each write and its events commit in one transaction. */
export class SqliteOrderStore implements OrderStore {
  private readonly stmts;

  constructor(
    private readonly db: Database.Database,
    private readonly writeEvents: SqliteEventWriter,
  ) {
    this.stmts = {
      get: db.prepare<[string], Row>('SELECT * FROM orders WHERE id = ?'),
      byKey: db.prepare<[string], Row>('SELECT * FROM orders WHERE idempotency_key = ?'),
      byCustomer: db.prepare<[string, number], Row>(
        'SELECT * FROM orders WHERE customer_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
      ),
      insert: db.prepare(
        `INSERT INTO orders (id, customer_id, idempotency_key, status, reason, message, items, total_amount, currency,
           history, created_at, updated_at)
         VALUES (@id, @customer_id, @idempotency_key, @status, @reason, @message, @items, @total_amount, @currency,
           @history, @created_at, @updated_at)
         ON CONFLICT (idempotency_key) DO NOTHING`,
      ),
      update: db.prepare(
        `UPDATE orders SET status = @status, reason = @reason, message = @message, history = @history,
           updated_at = @updated_at WHERE id = @id AND status = @expected`,
      ),
    };
  }

  async get(id: string) {
    const row = this.stmts.get.get(id);
    return row && toOrder(row);
  }

  async findByKey(key: string) {
    const row = this.stmts.byKey.get(key);
    return row && toOrder(row);
  }

  async listByCustomer(customerId: string, limit: number) {
    return this.stmts.byCustomer.all(customerId, limit).map(toOrder);
  }

  async insert(order: Order, idempotencyKey: string, events: readonly EventEnvelope[]): Promise<Order> {
    return this.db
      .transaction((): Order => {
        const { changes } = this.stmts.insert.run(toRow(order, idempotencyKey));
        if (changes === 0) return toOrder(this.stmts.byKey.get(idempotencyKey) as Row);
        this.writeEvents(events);
        return order;
      })
      .immediate();
  }

  async update(order: Order, expected: OrderStatus, events: readonly EventEnvelope[]): Promise<boolean> {
    return this.db
      .transaction((): boolean => {
        const { changes } = this.stmts.update.run({ ...toRow(order, ''), expected });
        if (changes === 0) return false;
        this.writeEvents(events);
        return true;
      })
      .immediate();
  }
}

function toRow(o: Order, idempotencyKey: string): Row {
  return {
    id: o.id,
    customer_id: o.customerId,
    idempotency_key: idempotencyKey,
    status: o.status,
    reason: o.reason ?? null,
    message: o.message ?? null,
    items: JSON.stringify(o.items),
    total_amount: o.total.amount,
    currency: o.total.currency,
    history: JSON.stringify(o.history.map((h) => ({ ...h, at: h.at.toISOString() }))),
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
  };
}

function toOrder(r: Row): Order {
  const history = (JSON.parse(r.history) as (Omit<StatusChange, 'at'> & { at: string })[]).map((h) => ({
    ...h,
    at: new Date(h.at),
  }));
  return {
    id: r.id,
    customerId: r.customer_id,
    items: JSON.parse(r.items) as OrderLine[],
    total: { amount: r.total_amount, currency: r.currency },
    status: r.status,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.message ? { message: r.message } : {}),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    history,
  };
}
