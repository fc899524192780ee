import type { EventEnvelope } from '@sluice/contracts';
import { assertSchemaName, type PgEventWriter, withPgTransaction } from '@sluice/service';
import type pg from 'pg';
import type { PaymentStore } from '../application/payment.store.js';
import type { Payment, PaymentStatus } from '../domain/payment.js';

interface Row {
  id: string;
  order_id: string;
  customer_id: string;
  amount: string;
  currency: string;
  card_token: string;
  status: PaymentStatus;
  decline_code: string | null;
  idempotency_key: string;
  processed_at: Date;
  refund_id: string | null;
  refund_idempotency_key: string | null;
  refunded_at: Date | null;
}

/** The payment store on PostgreSQL (one schema per service); each write and its events commit together. */
export class PgPaymentStore implements PaymentStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly writeEvents: PgEventWriter,
  ) {
    assertSchemaName(schema);
  }

  async get(id: string) {
    return this.one('id = $1', id);
  }

  async findByKey(key: string) {
    return this.one('idempotency_key = $1', key);
  }

  async listByOrder(orderId: string) {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM ${this.schema}.payment WHERE order_id = $1 ORDER BY processed_at, id`,
      [orderId],
    );
    return rows.map(toPayment);
  }

  async insert(p: Payment, events: readonly EventEnvelope[]): Promise<Payment> {
    const inserted = await withPgTransaction(this.pool, async (c) => {
      const { rowCount } = await c.query(
        `INSERT INTO ${this.schema}.payment (id, order_id, customer_id, amount, currency, card_token, status, decline_code,
           idempotency_key, processed_at, refund_id, refund_idempotency_key, refunded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (idempotency_key) DO NOTHING`,
        [
          p.id,
          p.orderId,
          p.customerId,
          p.amount.amount,
          p.amount.currency,
          p.cardToken,
          p.status,
          p.declineCode ?? null,
          p.idempotencyKey,
          p.processedAt,
          p.refund?.id ?? null,
          p.refund?.idempotencyKey ?? null,
          p.refund?.refundedAt ?? null,
        ],
      );
      if (rowCount === 0) return false;
      await this.writeEvents(c, events);
      return true;
    });
    return inserted ? p : ((await this.findByKey(p.idempotencyKey)) as Payment);
  }

  async update(p: Payment, expected: PaymentStatus, events: readonly EventEnvelope[]): Promise<boolean> {
    return withPgTransaction(this.pool, async (c) => {
      const { rowCount } = await c.query(
        `UPDATE ${this.schema}.payment SET status = $2, refund_id = $3, refund_idempotency_key = $4, refunded_at = $5
         WHERE id = $1 AND status = $6`,
        [
          p.id,
          p.status,
          p.refund?.id ?? null,
          p.refund?.idempotencyKey ?? null,
          p.refund?.refundedAt ?? null,
          expected,
        ],
      );
      if (rowCount === 0) return false;
      await this.writeEvents(c, events);
      return true;
    });
  }

  private async one(where: string, value: string) {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM ${this.schema}.payment WHERE ${where}`, [
      value,
    ]);
    return rows[0] && toPayment(rows[0]);
  }
}

function toPayment(r: Row): Payment {
  return {
    id: r.id,
    orderId: r.order_id,
    customerId: r.customer_id,
    amount: { amount: Number(r.amount), currency: r.currency },
    cardToken: r.card_token,
    status: r.status,
    ...(r.decline_code ? { declineCode: r.decline_code } : {}),
    idempotencyKey: r.idempotency_key,
    processedAt: r.processed_at,
    ...(r.refund_id && r.refunded_at
      ? {
          refund: {
            id: r.refund_id,
            idempotencyKey: r.refund_idempotency_key ?? '',
            refundedAt: r.refunded_at,
          },
        }
      : {}),
  };
}
