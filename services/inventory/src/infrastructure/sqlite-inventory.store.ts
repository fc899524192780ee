import type { SqliteEventWriter } from '@sluice/service';
import type Database from 'better-sqlite3';
import type {
  InventoryDecision,
  InventoryQuery,
  InventoryState,
  InventoryStore,
} from '../application/inventory.store.js';
import type { Reservation, ReservationStatus, StockLine } from '../domain/reservation.js';
import type { Stock } from '../domain/stock.js';

interface StockRow {
  product_id: string;
  available: number;
  reserved: number;
  sold: number;
}
interface ReservationRow {
  id: string;
  order_id: string;
  idempotency_key: string;
  status: ReservationStatus;
  items: string;
  created_at: string;
  expires_at: string;
  settled_at: string | null;
}

/**
 * The inventory store on SQLite. better-sqlite3 is synchronous, so a whole
 * `mutate` (read, decide, write, outbox) runs in one `BEGIN IMMEDIATE`
 * transaction with no await inside: no other writer, in this process or
 * another, can interleave, and nothing can oversell.
 */
export class SqliteInventoryStore implements InventoryStore {
  private readonly stmts;

  constructor(
    private readonly db: Database.Database,
    private readonly writeEvents: SqliteEventWriter,
  ) {
    this.stmts = {
      stock: db.prepare<[string], StockRow>('SELECT * FROM stock WHERE product_id = ?'),
      allStock: db.prepare<[], StockRow>('SELECT * FROM stock ORDER BY product_id'),
      byId: db.prepare<[string], ReservationRow>('SELECT * FROM reservation WHERE id = ?'),
      byKey: db.prepare<[string], ReservationRow>('SELECT * FROM reservation WHERE idempotency_key = ?'),
      due: db.prepare<[string, number], { id: string }>(
        "SELECT id FROM reservation WHERE status = 'active' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
      ),
      putStock: db.prepare(
        `INSERT INTO stock (product_id, available, reserved, sold, updated_at) VALUES (@product_id, @available, @reserved, @sold, @at)
         ON CONFLICT (product_id) DO UPDATE SET available = excluded.available, reserved = excluded.reserved,
           sold = excluded.sold, updated_at = excluded.updated_at`,
      ),
      putReservation: db.prepare(
        `INSERT INTO reservation (id, order_id, idempotency_key, status, items, created_at, expires_at, settled_at)
         VALUES (@id, @order_id, @idempotency_key, @status, @items, @created_at, @expires_at, @settled_at)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, settled_at = excluded.settled_at`,
      ),
    };
  }

  async mutate<T>(
    query: InventoryQuery,
    decide: (state: InventoryState) => InventoryDecision<T>,
  ): Promise<T> {
    const run = this.db.transaction((): T => {
      const reservation = this.loadReservation(query);
      const ids = new Set(query.productIds ?? []);
      for (const line of reservation?.items ?? []) ids.add(line.productId);
      const stock = new Map<string, Stock>();
      for (const id of ids) {
        const row = this.stmts.stock.get(id);
        if (row) stock.set(id, toStock(row));
      }
      const decision = decide({ stock, reservation });
      const at = new Date().toISOString();
      if (decision.change) {
        for (const s of decision.change.stock)
          this.stmts.putStock.run({
            product_id: s.productId,
            available: s.available,
            reserved: s.reserved,
            sold: s.sold,
            at,
          });
        this.stmts.putReservation.run(fromReservation(decision.change.reservation));
      }
      if (decision.events?.length) this.writeEvents(decision.events);
      return decision.result;
    });
    return run.immediate();
  }

  async getStock(productId: string): Promise<Stock | undefined> {
    const row = this.stmts.stock.get(productId);
    return row && toStock(row);
  }

  async listStock(): Promise<Stock[]> {
    return this.stmts.allStock.all().map(toStock);
  }

  async getReservation(id: string): Promise<Reservation | undefined> {
    const row = this.stmts.byId.get(id);
    return row && toReservation(row);
  }

  async dueReservations(now: Date, limit: number): Promise<string[]> {
    return this.stmts.due.all(now.toISOString(), limit).map((r) => r.id);
  }

  async seed(rows: readonly { productId: string; units: number }[]): Promise<void> {
    const at = new Date().toISOString();
    this.db.transaction(() => {
      for (const r of rows) {
        const current = this.stmts.stock.get(r.productId);
        // Seeding sets what is available; units already reserved or sold stay where they are.
        this.stmts.putStock.run({
          product_id: r.productId,
          available: r.units,
          reserved: current?.reserved ?? 0,
          sold: current?.sold ?? 0,
          at,
        });
      }
    })();
  }

  private loadReservation(query: InventoryQuery): Reservation | undefined {
    const row =
      query.reservationId !== undefined
        ? this.stmts.byId.get(query.reservationId)
        : query.idempotencyKey !== undefined
          ? this.stmts.byKey.get(query.idempotencyKey)
          : undefined;
    return row && toReservation(row);
  }
}

function toStock(row: StockRow): Stock {
  return { productId: row.product_id, available: row.available, reserved: row.reserved, sold: row.sold };
}

function toReservation(row: ReservationRow): Reservation {
  return {
    id: row.id,
    orderId: row.order_id,
    idempotencyKey: row.idempotency_key,
    status: row.status,
    items: JSON.parse(row.items) as StockLine[],
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    ...(row.settled_at ? { settledAt: new Date(row.settled_at) } : {}),
  };
}

function fromReservation(r: Reservation): ReservationRow {
  return {
    id: r.id,
    order_id: r.orderId,
    idempotency_key: r.idempotencyKey,
    status: r.status,
    items: JSON.stringify(r.items),
    created_at: r.createdAt.toISOString(),
    expires_at: r.expiresAt.toISOString(),
    settled_at: r.settledAt?.toISOString() ?? null,
  };
}
