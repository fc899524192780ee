import type { EventEnvelope } from '@sluice/contracts';
import type { Reservation, StockChange } from '../domain/reservation.js';
import type { Stock } from '../domain/stock.js';

/** What a decision reads: the stock rows asked for and, when asked, one reservation. */
export interface InventoryState {
  /** Current stock of the products asked for (a product without stock is absent). */
  readonly stock: ReadonlyMap<string, Stock>;
  /** The reservation found by id or idempotency key, if any. */
  readonly reservation: Reservation | undefined;
}

/** What to load before deciding. */
export interface InventoryQuery {
  readonly productIds?: readonly string[];
  readonly reservationId?: string;
  readonly idempotencyKey?: string;
}

/** What a decision returns: the change to persist, the events it causes, and the caller's result. */
export interface InventoryDecision<T> {
  readonly change?: StockChange;
  readonly events?: readonly EventEnvelope[];
  readonly result: T;
}

/**
 * The inventory's persistence port. `mutate` loads the state a decision needs,
 * runs the (pure, synchronous) decision, and persists its change together
 * with its events (through the outbox) in ONE transaction, with the rows
 * locked, so concurrent reservations can never oversell.
 */
export interface InventoryStore {
  /** `state.stock` holds the products asked for plus those of the reservation found. */
  mutate<T>(query: InventoryQuery, decide: (state: InventoryState) => InventoryDecision<T>): Promise<T>;
  /** Stock of one product, or undefined. */
  getStock(productId: string): Promise<Stock | undefined>;
  /** Stock of every product (for the dashboard and invariant checks). */
  listStock(): Promise<Stock[]>;
  /** One reservation by id. */
  getReservation(id: string): Promise<Reservation | undefined>;
  /** Ids of active reservations due at `now`, oldest first, at most `limit`. */
  dueReservations(now: Date, limit: number): Promise<string[]>;
  /** Sets stock levels (seeding): available units per product, creating rows as needed. */
  seed(rows: readonly { productId: string; units: number }[]): Promise<void>;
}

/** Tells watchers (gRPC WatchInventory streams) that stock changed, after the change committed. */
export type StockChangeListener = (changed: readonly Stock[], at: Date) => void;
