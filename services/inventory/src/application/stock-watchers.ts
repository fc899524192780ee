import type { Stock } from '../domain/stock.js';

/** One stock change as watchers see it. */
export interface StockUpdate {
  readonly productId: string;
  readonly available: number;
  readonly at: Date;
}

/**
 * Fans committed stock changes out to watchers (the gRPC `WatchInventory`
 * streams). Each watcher has a bounded buffer that keeps only the latest
 * level per product: a slow watcher never makes the service buffer without
 * bound, it just skips intermediate levels (the newest one is what matters).
 */
export class StockWatchers {
  private readonly watchers = new Set<Watcher>();

  /** Call after a change committed. */
  publish(changed: readonly Stock[], at: Date): void {
    for (const w of this.watchers)
      for (const s of changed) w.offer({ productId: s.productId, available: s.available, at });
  }

  /** Live updates for these products (all when empty) until `signal` aborts. */
  async *watch(productIds: readonly string[], signal: AbortSignal): AsyncGenerator<StockUpdate> {
    const w = new Watcher(new Set(productIds));
    this.watchers.add(w);
    const onAbort = () => w.wake();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const next = w.take();
        if (next) yield next;
        else await w.wait();
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.watchers.delete(w);
    }
  }

  /** Watchers connected now. */
  get size(): number {
    return this.watchers.size;
  }
}

class Watcher {
  private readonly pending = new Map<string, StockUpdate>();
  private waiter: (() => void) | undefined;

  constructor(private readonly filter: ReadonlySet<string>) {}

  offer(u: StockUpdate): void {
    if (this.filter.size > 0 && !this.filter.has(u.productId)) return;
    // Re-inserting moves the product to the back: updates stay in arrival order.
    this.pending.delete(u.productId);
    this.pending.set(u.productId, u);
    this.wake();
  }

  take(): StockUpdate | undefined {
    const first = this.pending.entries().next();
    if (first.done) return undefined;
    this.pending.delete(first.value[0]);
    return first.value[1];
  }

  wait(): Promise<void> {
    return new Promise((r) => (this.waiter = r));
  }

  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
