import type { Disposer } from '@sluice/resilience';
import { Counter, Gauge } from 'prom-client';
import { invalidOption } from './invalid-options.js';
import { ensureMetric, type Metrics, perRegistry } from './metrics.js';

/** The state of one queue (or subscription) at scrape time. */
export interface QueueStats {
  /** The queue, topic subscription or subject. */
  readonly queue: string;
  /** Messages ready to be delivered. */
  readonly depth: number;
  /** Messages delivered and not yet settled (leased, unacked). */
  readonly inFlight: number;
  /** Messages in the queue's dead-letter queue. */
  readonly deadLetters: number;
}

/** Options of {@link bindQueueMetrics}. */
export interface QueueMetricsOptions {
  /** The transport, the `system` label (`rabbitmq`, `nats`, `postgresql`, `sqlite`). Required. */
  readonly system: string;
  /**
   * Reads the queues' state; called once per scrape. May be async (a query,
   * a broker API call). When it throws or rejects, the scrape still succeeds
   * without these series and `<prefix>metrics_collect_errors_total` counts it.
   */
  readonly collect: () => readonly QueueStats[] | Promise<readonly QueueStats[]>;
}

interface QueueSource {
  readonly system: string;
  readonly collect: QueueMetricsOptions['collect'];
}

interface QueueFamilies {
  readonly sources: Set<QueueSource>;
}

function familiesOf(metrics: Metrics): QueueFamilies {
  return perRegistry(metrics, 'queues', () => registerFamilies(metrics));
}

function registerFamilies(metrics: Metrics): QueueFamilies {
  const sources = new Set<QueueSource>();
  const families: QueueFamilies = { sources };

  const registry = metrics.registry;
  const p = metrics.prefix;
  // The gauges and the error counter are collected concurrently in one
  // scrape: they share one read of every source (the counter waits for it,
  // so a failure shows in the same scrape).
  let pending: Promise<(readonly [QueueSource, readonly QueueStats[]])[]> | undefined;
  const read = () => {
    pending ??= Promise.all(
      [...sources].map(async (source) => {
        try {
          return [source, await source.collect()] as const;
        } catch {
          errors.inc({ collector: `queues:${source.system}` });
          return [source, []] as const;
        }
      }),
    ).finally(() => {
      pending = undefined;
    });
    return pending;
  };
  const errors = ensureMetric(
    registry,
    `${p}metrics_collect_errors_total`,
    () =>
      new Counter<'collector'>({
        name: `${p}metrics_collect_errors_total`,
        help: 'Scrape-time collectors that failed (their series are missing from that scrape).',
        labelNames: ['collector'],
        registers: [registry],
        async collect() {
          await read();
        },
      }),
  );
  const gauge = (name: string, help: string, pick: (s: QueueStats) => number) =>
    ensureMetric(
      registry,
      p + name,
      () =>
        new Gauge<'system' | 'queue'>({
          name: p + name,
          help,
          labelNames: ['system', 'queue'],
          registers: [registry],
          async collect() {
            const results = await read();
            this.reset();
            for (const [source, stats] of results)
              for (const s of stats) this.set({ system: source.system, queue: s.queue }, pick(s));
          },
        }),
    );
  gauge('queue_depth', 'Messages ready in a queue.', (s) => s.depth);
  gauge('queue_in_flight', 'Messages delivered and not yet settled.', (s) => s.inFlight);
  gauge('queue_dead_letters', 'Messages in a queue’s dead-letter queue.', (s) => s.deadLetters);
  return families;
}

/**
 * Exposes queue depth, in-flight and dead-letter depth as gauges
 * (`<prefix>queue_depth`, `<prefix>queue_in_flight`,
 * `<prefix>queue_dead_letters`, labelled `system` and `queue`), read from
 * `collect` when the registry is scraped.
 *
 * @returns a disposer that removes this source.
 * @throws SluiceError `invalid_argument` / `OBSERVABILITY_INVALID_OPTION` for an empty system or a missing collect.
 * @example
 * ```ts
 * bindQueueMetrics(metrics, { system: 'postgresql', collect: () => queue.stats() });
 * ```
 */
export function bindQueueMetrics(metrics: Metrics, options: QueueMetricsOptions): Disposer {
  if (typeof options?.system !== 'string' || options.system === '')
    throw invalidOption('bindQueueMetrics', 'system', 'must be a non-empty string');
  if (typeof options.collect !== 'function')
    throw invalidOption('bindQueueMetrics', 'collect', 'must be a function');
  const source: QueueSource = { system: options.system, collect: options.collect };
  const { sources } = familiesOf(metrics);
  sources.add(source);
  return () => {
    sources.delete(source);
  };
}
