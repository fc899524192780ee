import { type Clock, systemClock, type TimerHandle } from '@sluice/resilience';

/** An order's status as the live feed reports it. */
export interface OrderStatus {
  readonly id: string;
  readonly status: 'pending' | 'confirmed' | 'cancelled';
  readonly reason?: string;
}

/** Port: reads an order's current status (rejects with `not_found` for an unknown order). */
export interface OrderStatusSource {
  get(orderId: string): Promise<OrderStatus>;
}

/** Receives one order's status changes. */
export interface StatusWatcher {
  /** The current status first, then each change; the last one is terminal. */
  onStatus(status: OrderStatus): void;
  /** The order cannot be followed (unknown, or the source kept failing); nothing follows. */
  onError(error: unknown): void;
}

/** Options of {@link createOrderStatusFeed}. */
export interface OrderStatusFeedOptions {
  readonly source: OrderStatusSource;
  /** First poll interval and the one after each change, in ms. Default 200. */
  readonly minIntervalMs?: number;
  /** Longest interval between polls of an unchanged order, in ms (doubling up to it). Default 2 000. */
  readonly maxIntervalMs?: number;
  /** Consecutive failed polls before watchers get the error. Default 10. */
  readonly maxFailures?: number;
  /** Whether a failure is final at once (e.g. `not_found`). Default: `code === 'not_found'`. */
  readonly isFinal?: (error: unknown) => boolean;
  /** Default `systemClock`. */
  readonly clock?: Clock;
}

/** Live status of orders, one shared poller per followed order. */
export interface OrderStatusFeed {
  /** Follows an order; returns the disposer (idempotent). */
  watch(orderId: string, watcher: StatusWatcher): () => void;
  /** Orders being polled now. */
  readonly activePollers: number;
  /** Stops every poller (watchers are dropped without a call). */
  close(): void;
}

/** `confirmed` and `cancelled` end an order's flow. */
export const isTerminal = (s: OrderStatus['status']): boolean => s === 'confirmed' || s === 'cancelled';

interface Poller {
  readonly watchers: Set<StatusWatcher>;
  last: OrderStatus | undefined;
  delay: number;
  failures: number;
  timer: TimerHandle | undefined;
  polling: boolean;
}

const defaultIsFinal = (e: unknown) => (e as { code?: unknown } | null)?.code === 'not_found';

/**
 * One poller per order id however many clients follow it: the first watcher
 * starts it, the last one to leave stops it, a terminal status ends it.
 * Polls back off (doubling, up to `maxIntervalMs`) while nothing changes and
 * snap back to `minIntervalMs` after a change. A watcher holds nothing but
 * its callbacks; a late joiner gets the latest status at once.
 */
export function createOrderStatusFeed(options: OrderStatusFeedOptions): OrderStatusFeed {
  const clock = options.clock ?? systemClock;
  const min = options.minIntervalMs ?? 200;
  const max = options.maxIntervalMs ?? 2_000;
  const maxFailures = options.maxFailures ?? 10;
  const isFinal = options.isFinal ?? defaultIsFinal;
  const pollers = new Map<string, Poller>();

  const stop = (orderId: string, p: Poller) => {
    if (p.timer !== undefined) clock.clearTimeout(p.timer);
    p.timer = undefined;
    if (pollers.get(orderId) === p) pollers.delete(orderId);
  };

  const schedule = (orderId: string, p: Poller, delayMs: number) => {
    p.timer = clock.setTimeout(() => {
      p.timer = undefined;
      void poll(orderId, p);
    }, delayMs);
  };

  const poll = async (orderId: string, p: Poller) => {
    if (pollers.get(orderId) !== p || p.polling) return;
    p.polling = true;
    let next: OrderStatus | undefined;
    let failure: unknown;
    try {
      next = await options.source.get(orderId);
    } catch (err) {
      failure = err;
    }
    p.polling = false;
    if (pollers.get(orderId) !== p) return; // everyone left meanwhile
    if (next === undefined) {
      p.failures++;
      if (isFinal(failure) || p.failures >= maxFailures) {
        stop(orderId, p);
        for (const w of [...p.watchers]) w.onError(failure);
        return;
      }
      p.delay = Math.min(max, p.delay * 2);
      schedule(orderId, p, p.delay);
      return;
    }
    p.failures = 0;
    const changed = p.last === undefined || p.last.status !== next.status || p.last.reason !== next.reason;
    if (changed) {
      p.last = next;
      p.delay = min;
      if (isTerminal(next.status)) stop(orderId, p);
      for (const w of [...p.watchers]) w.onStatus(next);
      if (isTerminal(next.status)) return;
    } else {
      p.delay = Math.min(max, p.delay * 2);
    }
    schedule(orderId, p, p.delay);
  };

  return {
    watch(orderId, watcher) {
      let p = pollers.get(orderId);
      if (p === undefined) {
        p = {
          watchers: new Set(),
          last: undefined,
          delay: min,
          failures: 0,
          timer: undefined,
          polling: false,
        };
        pollers.set(orderId, p);
        p.watchers.add(watcher);
        void poll(orderId, p);
      } else {
        p.watchers.add(watcher);
        if (p.last !== undefined) watcher.onStatus(p.last);
      }
      const poller = p;
      return () => {
        poller.watchers.delete(watcher);
        if (poller.watchers.size === 0) stop(orderId, poller);
      };
    },
    get activePollers() {
      return pollers.size;
    },
    close() {
      for (const [id, p] of pollers) stop(id, p);
    },
  };
}
