import { LatencyStats, type LatencySummary } from './latency-stats.js';
import { type OrderMix, pickScenario, type Scenario } from './order-mix.js';

/** Time source of a run; the default is the real one. */
export interface LoadClock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
}

const realClock: LoadClock = { now: () => performance.now(), setTimeout: (fn, ms) => setTimeout(fn, ms) };

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Orders started per second (open loop: the schedule does not wait for answers). */
  readonly rate: number;
  /** How long to keep starting orders, in ms. */
  readonly durationMs: number;
  /** Most orders in flight at once; a start beyond it waits for a slot (and its wait counts as latency). */
  readonly concurrency: number;
  readonly mix: OrderMix;
  /**
   * Runs one order of a scenario to its end and returns the outcome label
   * (`confirmed`, `cancelled:PAYMENT_DECLINED`, `error:unavailable`…). Its
   * latency is measured from the moment the schedule meant to start it.
   */
  readonly run: (scenario: Scenario, index: number) => Promise<string>;
  /** Called about every 250 ms and at the end. */
  readonly onProgress?: (p: LoadProgress) => void;
  readonly clock?: LoadClock;
  /** Uniform random in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** Where a run stands. */
export interface LoadProgress {
  readonly elapsedMs: number;
  readonly durationMs: number;
  readonly started: number;
  readonly completed: number;
  readonly inFlight: number;
}

/** What a run measured. */
export interface LoadResult {
  readonly started: number;
  readonly completed: number;
  /** Completed orders per second over the whole run (until the last answer). */
  readonly throughput: number;
  readonly elapsedMs: number;
  /** Count per outcome label. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Count per scenario. */
  readonly scenarios: Readonly<Record<string, number>>;
  /** Latency from scheduled start to the order's end, every outcome. */
  readonly latency: LatencySummary;
}

/**
 * Drives a bounded load: starts `rate` orders per second for `durationMs`
 * (at most `rate × duration / 1000` orders), at most `concurrency` in flight,
 * and waits for every started order to finish. Latencies are measured from
 * the intended start time, so a slow system cannot hide its queueing
 * (no coordinated omission).
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { rate, durationMs, concurrency, mix, run } = options;
  if (!(rate > 0) || !(durationMs > 0) || !(concurrency >= 1)) {
    throw new RangeError('rate, duration and concurrency must be positive');
  }
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  const total = Math.max(1, Math.floor((rate * durationMs) / 1000));
  const stats = new LatencyStats();
  const outcomes: Record<string, number> = {};
  const scenarios: Record<string, number> = {};
  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, Math.max(0, ms)));
  const t0 = clock.now();
  let started = 0;
  let completed = 0;
  let inFlight = 0;
  let slotFreed: (() => void) | undefined;
  const running = new Set<Promise<void>>();
  let lastProgress = -Infinity;
  const progress = (force = false) => {
    const now = clock.now();
    if (!options.onProgress || (!force && now - lastProgress < 250)) return;
    lastProgress = now;
    options.onProgress({ elapsedMs: now - t0, durationMs, started, completed, inFlight });
  };

  for (let i = 0; i < total; i++) {
    const intended = t0 + (i * 1000) / rate;
    const wait = intended - clock.now();
    if (wait > 0) await sleep(wait);
    while (inFlight >= concurrency) await new Promise<void>((r) => (slotFreed = r));
    const scenario = pickScenario(mix, random());
    scenarios[scenario] = (scenarios[scenario] ?? 0) + 1;
    started++;
    inFlight++;
    const task = (async () => {
      let outcome: string;
      try {
        outcome = await run(scenario, i);
      } catch (err) {
        outcome = `error:${(err as { code?: string }).code ?? 'unknown'}`;
      }
      stats.record(clock.now() - intended);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      completed++;
      inFlight--;
      slotFreed?.();
      slotFreed = undefined;
      progress();
    })();
    running.add(task);
    void task.finally(() => running.delete(task));
    progress();
  }
  await Promise.all(running);
  const elapsedMs = clock.now() - t0;
  progress(true);
  return {
    started,
    completed,
    throughput: elapsedMs > 0 ? (completed * 1000) / elapsedMs : 0,
    elapsedMs,
    outcomes,
    scenarios,
    latency: stats.summary(),
  };
}
