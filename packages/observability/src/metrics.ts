import { GrpcStatus } from '@sluice/errors';
import { Counter, collectDefaultMetrics, Histogram, type Metric, Registry } from 'prom-client';
import { invalidOption } from './invalid-options.js';

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Prepended to every metric name. Default `'sluice_'`. Must match `[a-zA-Z_:][a-zA-Z0-9_:]*` (or be empty). */
  readonly prefix?: string;
  /** The prom-client registry to register on. Default: a new `Registry` (never the global one). */
  readonly registry?: Registry;
  /** Labels added to every series of the registry (e.g. `{ service: 'order' }`). Default none. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
  /**
   * Upper bounds of the duration histograms' buckets, in seconds. Default
   * `[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]`.
   */
  readonly durationBuckets?: readonly number[];
  /** Also collect prom-client's process metrics (CPU, memory, event-loop lag, GC). Default false. */
  readonly processMetrics?: boolean;
  /** Milliseconds clock for the `start*Timer` helpers. Default `performance.now`. */
  readonly now?: () => number;
}

/** Which end of a call is measured. */
export type CallSide = 'server' | 'client';

/** One HTTP request, served or made. */
export interface HttpRequestObservation {
  readonly side: CallSide;
  /** `GET`, `POST`, … (upper-cased when recorded). */
  readonly method: string;
  /**
   * The route *template* (`/api/v1/orders/:id`), never the raw path (one
   * series per path would explode). Clients use their downstream name plus
   * template (`inventory:/api/v1/inventory/:id`).
   */
  readonly route: string;
  /** The status code; `0` (or `'error'`) when no response arrived (connection error, timeout). */
  readonly status: number | string;
  /** Milliseconds from request start to response end. */
  readonly durationMs: number;
}

/** One gRPC call, served or made. */
export interface GrpcCallObservation {
  readonly side: CallSide;
  /** Fully qualified service, e.g. `inventory.v1.InventoryService`. */
  readonly service: string;
  /** Method name, e.g. `ReserveStock`. */
  readonly method: string;
  /** Status: a number (0–16) or its name (`OK`, `UNAVAILABLE`); recorded as the name. */
  readonly code: number | string;
  /** Milliseconds from call start to its status. */
  readonly durationMs: number;
}

/** How a consumed message ended. */
export type MessageOutcome = 'ack' | 'retry' | 'dead_letter' | 'rejected';

/** One message handled by a consumer. */
export interface MessageObservation {
  /** The transport (`rabbitmq`, `nats`, `postgresql`, `sqlite`). */
  readonly system: string;
  /** Topic, queue or subject. */
  readonly destination: string;
  readonly outcome: MessageOutcome;
  /** Milliseconds the handler ran. */
  readonly durationMs: number;
}

/** The standard Sluice instruments on one prom-client registry (see {@link createMetrics}). */
export interface Metrics {
  /** The registry everything is registered on (serve it with `metricsHandler` / `renderMetrics`). */
  readonly registry: Registry;
  /** The metric name prefix. */
  readonly prefix: string;
  /** Records a finished HTTP request: `<prefix>http_requests_total` and `<prefix>http_request_duration_seconds`. */
  observeHttpRequest(observation: HttpRequestObservation): void;
  /** Starts timing an HTTP request; call the result with the status when it ends. */
  startHttpTimer(
    request: Omit<HttpRequestObservation, 'status' | 'durationMs'>,
  ): (status: number | string) => void;
  /** Records a finished gRPC call: `<prefix>grpc_requests_total` and `<prefix>grpc_request_duration_seconds`. */
  observeGrpcCall(observation: GrpcCallObservation): void;
  /** Starts timing a gRPC call; call the result with the status code when it ends. */
  startGrpcTimer(call: Omit<GrpcCallObservation, 'code' | 'durationMs'>): (code: number | string) => void;
  /** Counts a published message: `<prefix>messages_published_total{system,destination,outcome}`. */
  recordPublish(publish: {
    readonly system: string;
    readonly destination: string;
    readonly ok: boolean;
  }): void;
  /** Records a consumed message: `<prefix>messages_handled_total` and `<prefix>message_handling_duration_seconds`. */
  observeMessage(observation: MessageObservation): void;
  /** Counts a saga entering a state: `<prefix>saga_transitions_total{saga,state}`. */
  recordSagaState(event: { readonly saga: string; readonly state: string }): void;
  /** Records a finished saga step: `<prefix>saga_step_duration_seconds{saga,step,outcome}`. */
  observeSagaStep(step: {
    readonly saga: string;
    readonly step: string;
    readonly outcome: 'completed' | 'failed' | 'compensated' | 'compensation_failed';
    readonly durationMs: number;
  }): void;
}

const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Milliseconds to seconds; a negative or non-finite duration (a clock glitch) records as 0 rather than throwing mid-request. */
const seconds = (ms: number) => (Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0);
const GRPC_NAMES: readonly string[] = Object.entries(GrpcStatus)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name);

/** The gRPC status name of a number or name (`14` → `UNAVAILABLE`); unknown values become `UNKNOWN`. */
export function grpcCodeName(code: number | string): string {
  if (typeof code === 'number') return GRPC_NAMES[code] ?? 'UNKNOWN';
  const upper = code.toUpperCase();
  return GRPC_NAMES.includes(upper) ? upper : 'UNKNOWN';
}

const perRegistryState = new WeakMap<Registry, Map<string, unknown>>();

/**
 * State shared by every binding of one kind on one registry and prefix
 * (the collectors registered once, the sources they read), made on first use.
 * @internal
 */
export function perRegistry<T>(metrics: Metrics, kind: string, make: () => T): T {
  let byKey = perRegistryState.get(metrics.registry);
  if (byKey === undefined) {
    byKey = new Map();
    perRegistryState.set(metrics.registry, byKey);
  }
  const key = `${kind}\u0000${metrics.prefix}`;
  if (!byKey.has(key)) byKey.set(key, make());
  return byKey.get(key) as T;
}

/**
 * Registers a metric, or returns the one of that name already on the
 * registry (two `createMetrics` or bindings on one registry share families).
 * @internal
 */
export function ensureMetric<M extends Metric>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

/**
 * Creates (or finds, on a registry that has them) the standard instruments
 * the toolkit reports, and returns typed recorders for them. Metric names
 * are listed in the package README; labels are kept to bounded sets (route
 * templates, not paths).
 *
 * @throws SluiceError `invalid_argument` / `OBSERVABILITY_INVALID_OPTION` for a bad prefix or buckets.
 * @example
 * ```ts
 * const metrics = createMetrics({ defaultLabels: { service: 'order' } });
 * const done = metrics.startHttpTimer({ side: 'server', method: 'POST', route: '/api/v1/orders' });
 * // … handle the request …
 * done(201);
 * ```
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? 'sluice_';
  if (typeof prefix !== 'string' || (prefix !== '' && !NAME_RE.test(prefix)))
    throw invalidOption('createMetrics', 'prefix', 'must match [a-zA-Z_:][a-zA-Z0-9_:]* or be empty');
  const buckets = [...(options.durationBuckets ?? DEFAULT_BUCKETS)];
  if (buckets.length === 0 || buckets.some((b, i) => !(b > 0) || (i > 0 && b <= (buckets[i - 1] as number))))
    throw invalidOption('createMetrics', 'durationBuckets', 'must be positive and strictly increasing');
  const registry = options.registry ?? new Registry();
  if (options.defaultLabels) registry.setDefaultLabels({ ...options.defaultLabels });
  if (options.processMetrics && !registry.getSingleMetric(`${prefix}process_cpu_seconds_total`))
    collectDefaultMetrics({ register: registry, prefix });
  const now = options.now ?? (() => performance.now());
  const registers = [registry];

  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    ensureMetric(
      registry,
      prefix + name,
      () => new Counter<L>({ name: prefix + name, help, labelNames, registers }),
    );
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    ensureMetric(
      registry,
      prefix + name,
      () => new Histogram<L>({ name: prefix + name, help, labelNames, buckets, registers }),
    );

  const httpLabels = ['side', 'method', 'route', 'status'] as const;
  const httpTotal = counter('http_requests_total', 'HTTP requests served or made, by outcome.', httpLabels);
  const httpDuration = histogram(
    'http_request_duration_seconds',
    'HTTP request latency in seconds, served or made.',
    httpLabels,
  );
  const grpcLabels = ['side', 'service', 'method', 'code'] as const;
  const grpcTotal = counter('grpc_requests_total', 'gRPC calls served or made, by status.', grpcLabels);
  const grpcDuration = histogram(
    'grpc_request_duration_seconds',
    'gRPC call latency in seconds, served or made.',
    grpcLabels,
  );
  const published = counter('messages_published_total', 'Messages handed to a broker, by outcome.', [
    'system',
    'destination',
    'outcome',
  ] as const);
  const msgLabels = ['system', 'destination', 'outcome'] as const;
  const handled = counter('messages_handled_total', 'Messages consumed, by how they ended.', msgLabels);
  const handling = histogram(
    'message_handling_duration_seconds',
    'Time a consumer handler ran, in seconds.',
    msgLabels,
  );
  const sagaTransitions = counter('saga_transitions_total', 'Sagas entering each state.', [
    'saga',
    'state',
  ] as const);
  const sagaSteps = histogram('saga_step_duration_seconds', 'Saga step run time in seconds, by outcome.', [
    'saga',
    'step',
    'outcome',
  ] as const);

  const observeHttpRequest = (o: HttpRequestObservation) => {
    const labels = {
      side: o.side,
      method: String(o.method).toUpperCase(),
      route: o.route,
      status: String(o.status),
    };
    httpTotal.inc(labels);
    httpDuration.observe(labels, seconds(o.durationMs));
  };
  const observeGrpcCall = (o: GrpcCallObservation) => {
    const labels = { side: o.side, service: o.service, method: o.method, code: grpcCodeName(o.code) };
    grpcTotal.inc(labels);
    grpcDuration.observe(labels, seconds(o.durationMs));
  };

  return {
    registry,
    prefix,
    observeHttpRequest,
    startHttpTimer(request) {
      const start = now();
      return (status) => observeHttpRequest({ ...request, status, durationMs: now() - start });
    },
    observeGrpcCall,
    startGrpcTimer(call) {
      const start = now();
      return (code) => observeGrpcCall({ ...call, code, durationMs: now() - start });
    },
    recordPublish(p) {
      published.inc({ system: p.system, destination: p.destination, outcome: p.ok ? 'ok' : 'error' });
    },
    observeMessage(o) {
      const labels = { system: o.system, destination: o.destination, outcome: o.outcome };
      handled.inc(labels);
      handling.observe(labels, seconds(o.durationMs));
    },
    recordSagaState(e) {
      sagaTransitions.inc({ saga: e.saga, state: e.state });
    },
    observeSagaStep(s) {
      sagaSteps.observe({ saga: s.saga, step: s.step, outcome: s.outcome }, seconds(s.durationMs));
    },
  };
}
