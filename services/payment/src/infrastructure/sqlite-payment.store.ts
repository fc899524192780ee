import type { EventEnvelope } from '@sluice/contracts';
import type { SqliteEventWriter } from '@sluice/service';
import type Database from 'better-sqlite3';
import type { PaymentStore } from '../application/payment.store.js';
import type { Payment, PaymentStatus } from '../domain/payment.js';

interface Row {
  id: string;
  order_id: string;
  customer_id: string;
  amount: number;
  currency: string;
  card_token: string;
  status: PaymentStatus;
  decline_code: string | null;
  idempotency_key: string;
  processed_at: string;
  refund_id: string | null;
  refund_idempotency_key: string | null;
  refunded_at: string | null;
}

/** The payment store on SQLite; each write and its events commit in one transaction. */
export class SqlitePaymentStore implements PaymentStore {
  private readonly stmts;

  constructor(
    private readonly db: Database.Database,
    private readonly writeEvents: SqliteEventWriter,
  ) {
    this.stmts = {
      get: db.prepare<[string], Row>('SELECT * FROM payment WHERE id = ?'),
      byKey: db.prepare<[string], Row>('SELECT * FROM payment WHERE idempotency_key = ?'),
      byOrder: db.prepare<[string], Row>(
        'SELECT * FROM payment WHERE order_id = ? ORDER BY processed_at, rowid',
      ),
      insert: db.prepare(
        `INSERT INTO payment (id, order_id, customer_id, amount, currency, card_token, status, decline_code,
           idempotency_key, processed_at, refund_id, refund_idempotency_key, refunded_at)
         VALUES (@id, @order_id, @customer_id, @amount, @currency, @card_token, @status, @decline_code,
           @idempotency_key, @processed_at, @refund_id, @refund_idempotency_key, @refunded_at)
         ON CONFLICT (idempotency_key) DO NOTHING`,
      ),
      update: db.prepare(
        `UPDATE payment SET status = @status, refund_id = @refund_id, refund_idempotency_key = @refund_idempotency_key,
           refunded_at = @refunded_at WHERE id = @id AND status = @expected`,
      ),
    };
  }

  async get(id: string) {
    const row = this.stmts.get.get(id);
    return row && toPayment(row);
  }

  async findByKey(key: string) {
    const row = this.stmts.byKey.get(key);
    return row && toPayment(row);
  }

  async listByOrder(orderId: string) {
    return this.stmts.byOrder.all(orderId).map(toPayment);
  }

  async insert(payment: Payment, events: readonly EventEnvelope[]): Promise<Payment> {
    return this.db
      .transaction((): Payment => {
        const { changes } = this.stmts.insert.run(toRow(payment));
        if (changes === 0) return toPayment(this.stmts.byKey.get(payment.idempotencyKey) as Row);
        this.writeEvents(events);
        return payment;
      })
      .immediate();
  }

  async update(
    payment: Payment,
    expected: PaymentStatus,
    events: readonly EventEnvelope[],
  ): Promise<boolean> {
    return this.db
      .transaction((): boolean => {
        const { changes } = this.stmts.update.run({ ...toRow(payment), expected });
        if (changes === 0) return false;
        this.writeEvents(events);
        return true;
      })
      .immediate();
  }
}

function toRow(p: Payment): Row {
  return {
    id: p.id,
    order_id: p.orderId,
    customer_id: p.customerId,
    amount: p.amount.amount,
    currency: p.amount.currency,
    card_token: p.cardToken,
    status: p.status,
    decline_code: p.declineCode ?? null,
    idempotency_key: p.idempotencyKey,
    processed_at: p.processedAt.toISOString(),
    refund_id: p.refund?.id ?? null,
    refund_idempotency_key: p.refund?.idempotencyKey ?? null,
    refunded_at: p.refund?.refundedAt.toISOString() ?? null,
  };
}

function toPayment(r: Row): Payment {
  return {
    id: r.id,
    orderId: r.order_id,
    customerId: r.customer_id,
    amount: { amount: r.amount, currency: r.currency },
    cardToken: r.card_token,
    status: r.status,
    ...(r.decline_code ? { declineCode: r.decline_code } : {}),
    idempotencyKey: r.idempotency_key,
    processedAt: new Date(r.processed_at),
    ...(r.refund_id && r.refunded_at
      ? {
          refund: {
            id: r.refund_id,
            idempotencyKey: r.refund_idempotency_key ?? '',
            refundedAt: new Date(r.refunded_at),
          },
        }
      : {}),
  };
}
