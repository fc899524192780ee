import {
  type Context,
  context,
  propagation,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';

/**
 * Where trace context travels: HTTP header maps (`IncomingHttpHeaders`, a
 * plain object whose values may be arrays), message headers (a plain
 * `Record<string, string>`), or anything with `get`/`set` methods (`Map`,
 * fetch `Headers`, gRPC `Metadata`, whose `get` returns an array).
 */
export type TraceCarrier =
  | Record<string, string | readonly string[] | number | undefined>
  | {
      get(name: string): unknown;
      set(name: string, value: string): unknown;
    };

/** Options of {@link injectTraceContext} and {@link extractTraceContext}. */
export interface PropagationOptions {
  /** The context to inject, or to extract onto. Default: the active context. */
  readonly context?: Context;
}

/** True for carriers with methods (Map, Headers, gRPC Metadata) rather than a plain record. */
function isMethodCarrier(carrier: TraceCarrier): carrier is Extract<TraceCarrier, { get: unknown }> {
  return typeof (carrier as { get?: unknown }).get === 'function';
}

/** The first string among a header value that may be a string, an array or a Buffer-ish value. */
function firstString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'string') return item;
  }
  return undefined;
}

/**
 * Reads a header case-insensitively. Node lower-cases incoming HTTP header
 * names, but message headers are whatever the producer wrote (`Traceparent`).
 */
const getter: TextMapGetter<TraceCarrier> = {
  get(carrier, key) {
    if (isMethodCarrier(carrier)) return firstString(carrier.get(key));
    const record = carrier as Record<string, unknown>;
    const exact = record[key];
    if (exact !== undefined) return firstString(exact);
    const lower = key.toLowerCase();
    for (const name of Object.keys(record)) {
      if (name.toLowerCase() === lower) return firstString(record[name]);
    }
    return undefined;
  },
  keys(carrier) {
    if (isMethodCarrier(carrier)) {
      const keys = (carrier as { keys?: () => Iterable<string> }).keys;
      return typeof keys === 'function' ? [...keys.call(carrier)] : [];
    }
    return Object.keys(carrier);
  },
};

const setter: TextMapSetter<TraceCarrier> = {
  set(carrier, key, value) {
    if (isMethodCarrier(carrier)) carrier.set(key, value);
    else (carrier as Record<string, string>)[key] = value;
  },
};

/**
 * Writes the W3C `traceparent` (and `tracestate`, `baggage` when present)
 * of the active span into `carrier`, using the globally installed
 * propagator (`setupTracing` installs W3C trace-context + baggage). Uses
 * only `@opentelemetry/api`: without an SDK it writes nothing.
 *
 * @returns the same carrier, for chaining.
 * @example
 * ```ts
 * const headers = injectTraceContext({ 'content-type': 'application/json' });
 * // headers.traceparent === '00-<trace id>-<span id>-01' inside a sampled span
 * ```
 */
export function injectTraceContext<C extends TraceCarrier>(carrier: C, options: PropagationOptions = {}): C {
  propagation.inject(options.context ?? context.active(), carrier, setter);
  return carrier;
}

/**
 * Reads W3C trace context (and baggage) from `carrier` onto a context
 * (default: the active one). A missing or malformed `traceparent` leaves the
 * context without a remote parent: it never throws.
 *
 * @returns a context whose span is the remote caller's (when there was one),
 *   for `tracer.startSpan(name, options, ctx)` or `context.with(ctx, fn)`.
 */
export function extractTraceContext(carrier: TraceCarrier, options: PropagationOptions = {}): Context {
  return propagation.extract(options.context ?? context.active(), carrier, getter);
}

/**
 * The trace headers of a context as a fresh plain record (`traceparent`,
 * and `tracestate` / `baggage` when present): what a message or CloudEvents
 * envelope stores. Empty when the context has no valid span.
 */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  return injectTraceContext({} as Record<string, string>, { context: ctx });
}

/** The active span's ids, or `undefined` when no valid span is active. */
export function currentTraceIds(
  ctx: Context = context.active(),
): { readonly traceId: string; readonly spanId: string; readonly sampled: boolean } | undefined {
  const span = trace.getSpan(ctx);
  if (span === undefined) return undefined;
  const sc = span.spanContext();
  if (!trace.isSpanContextValid(sc)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & 1) === 1 };
}
