import { assertSchemaName, isUniqueViolation, type PgEventWriter, withPgTransaction } from '@sluice/service';
import type pg from 'pg';
import type {
  InventoryDecision,
  InventoryQuery,
  InventoryState,
  InventoryStore,
} from '../application/inventory.store.js';
import type { Reservation, ReservationStatus, StockLine } from '../domain/reservation.js';
import type { Stock } from '../domain/stock.js';

interface ReservationRow {
  id: string;
  order_id: string;
  idempotency_key: string;
  status: ReservationStatus;
  items: StockLine[];
  created_at: Date;
  expires_at: Date;
  settled_at: Date | null;
}

/**
 * The inventory store on PostgreSQL (one schema per service). `mutate` locks
 * the reservation row and the stock rows it reads (`FOR UPDATE`, stock in
 * product-id order so two transactions never deadlock), decides, writes and
 * enqueues its events in one transaction. A reservation with the same
 * idempotency key inserted concurrently makes the loser retry and find it.
 */
export class PgInventoryStore implements InventoryStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly writeEvents: PgEventWriter,
  ) {
    assertSchemaName(schema);
  }

  async mutate<T>(
    query: InventoryQuery,
    decide: (state: InventoryState) => InventoryDecision<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await withPgTransaction(this.pool, (c) => this.mutateIn(c, query, decide));
      } catch (err) {
        // A concurrent duplicate idempotency key won; the retry finds its reservation.
        if (isUniqueViolation(err) && attempt < 3) continue;
        throw err;
      }
    }
  }

  private async mutateIn<T>(
    c: pg.PoolClient,
    query: InventoryQuery,
    decide: (state: InventoryState) => InventoryDecision<T>,
  ): Promise<T> {
    const s = this.schema;
    const found =
      query.reservationId !== undefined
        ? await c.query<ReservationRow>(`SELECT * FROM ${s}.reservation WHERE id = $1 FOR UPDATE`, [
            query.reservationId,
          ])
        : query.idempotencyKey !== undefined
          ? await c.query<ReservationRow>(
              `SELECT * FROM ${s}.reservation WHERE idempotency_key = $1 FOR UPDATE`,
              [query.idempotencyKey],
            )
          : undefined;
    const reservation = found?.rows[0] && toReservation(found.rows[0]);
    const ids = new Set(query.productIds ?? []);
    for (const line of reservation?.items ?? []) ids.add(line.productId);
    const { rows } = await c.query<{ product_id: string; available: number; reserved: number; sold: number }>(
      `SELECT product_id, available, reserved, sold FROM ${s}.stock WHERE product_id = ANY($1) ORDER BY product_id FOR UPDATE`,
      [[...ids]],
    );
    const stock = new Map<string, Stock>(rows.map((r) => [r.product_id, toStock(r)]));
    const decision = decide({ stock, reservation });
    if (decision.change) {
      for (const st of decision.change.stock) {
        await c.query(
          `UPDATE ${s}.stock SET available = $2, reserved = $3, sold = $4, updated_at = now() WHERE product_id = $1`,
          [st.productId, st.available, st.reserved, st.sold],
        );
      }
      const r = decision.change.reservation;
      await c.query(
        `INSERT INTO ${s}.reservation (id, order_id, idempotency_key, status, items, created_at, expires_at, settled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, settled_at = excluded.settled_at`,
        [
          r.id,
          r.orderId,
          r.idempotencyKey,
          r.status,
          JSON.stringify(r.items),
          r.createdAt,
          r.expiresAt,
          r.settledAt ?? null,
        ],
      );
    }
    if (decision.events?.length) await this.writeEvents(c, decision.events);
    return decision.result;
  }

  async getStock(productId: string) {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.schema}.stock WHERE product_id = $1`, [
      productId,
    ]);
    return rows[0] && toStock(rows[0]);
  }

  async listStock() {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.schema}.stock ORDER BY product_id`);
    return rows.map(toStock);
  }

  async getReservation(id: string) {
    const { rows } = await this.pool.query<ReservationRow>(
      `SELECT * FROM ${this.schema}.reservation WHERE id = $1`,
      [id],
    );
    return rows[0] && toReservation(rows[0]);
  }

  async dueReservations(now: Date, limit: number) {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM ${this.schema}.reservation WHERE status = 'active' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => r.id);
  }

  async seed(rows: readonly { productId: string; units: number }[]) {
    await withPgTransaction(this.pool, async (c) => {
      for (const r of rows) {
        await c.query(
          `INSERT INTO ${this.schema}.stock (product_id, available, reserved, sold, updated_at) VALUES ($1, $2, 0, 0, now())
           ON CONFLICT (product_id) DO UPDATE SET available = excluded.available, updated_at = now()`,
          [r.productId, r.units],
        );
      }
    });
  }
}

function toStock(r: { product_id: string; available: number; reserved: number; sold: number }): Stock {
  return { productId: r.product_id, available: r.available, reserved: r.reserved, sold: r.sold };
}

function toReservation(r: ReservationRow): Reservation {
  return {
    id: r.id,
    orderId: r.order_id,
    idempotencyKey: r.idempotency_key,
    status: r.status,
    items: r.items,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    ...(r.settled_at ? { settledAt: r.settled_at } : {}),
  };
}
