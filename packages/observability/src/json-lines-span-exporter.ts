import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, hrTimeToMicroseconds } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Options of {@link jsonLinesSpanExporter}. */
export interface JsonLinesSpanExporterOptions {
  /**
   * Where lines go: anything with `write(string)`. Default `process.stderr`
   * (stdout usually carries the JSON logs).
   */
  readonly destination?: { write(chunk: string): unknown };
}

/** One exported span, as one JSON line. */
export interface JsonSpanLine {
  readonly trace_id: string;
  readonly span_id: string;
  /** Absent for a root span. */
  readonly parent_span_id?: string;
  readonly name: string;
  /** `internal`, `server`, `client`, `producer` or `consumer`. */
  readonly kind: string;
  /** Start, in microseconds since the Unix epoch. */
  readonly start_us: number;
  /** Duration in microseconds. */
  readonly duration_us: number;
  /** `unset`, `ok` or `error`. */
  readonly status: string;
  readonly status_message?: string;
  /** `service.name` of the resource. */
  readonly service?: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly events: readonly {
    readonly name: string;
    readonly attributes?: Readonly<Record<string, unknown>>;
  }[];
  readonly links: readonly { readonly trace_id: string; readonly span_id: string }[];
}

const KINDS: Record<number, string> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

const STATUSES: Record<number, string> = {
  [SpanStatusCode.UNSET]: 'unset',
  [SpanStatusCode.OK]: 'ok',
  [SpanStatusCode.ERROR]: 'error',
};

/** The JSON line of one span (what {@link jsonLinesSpanExporter} writes). */
export function spanToJsonLine(span: ReadableSpan): JsonSpanLine {
  const sc = span.spanContext();
  const service = span.resource.attributes['service.name'];
  return {
    trace_id: sc.traceId,
    span_id: sc.spanId,
    ...(span.parentSpanContext ? { parent_span_id: span.parentSpanContext.spanId } : {}),
    name: span.name,
    kind: KINDS[span.kind] ?? 'internal',
    start_us: Math.round(hrTimeToMicroseconds(span.startTime)),
    duration_us: Math.round(hrTimeToMicroseconds(span.duration)),
    status: STATUSES[span.status.code] ?? 'unset',
    ...(span.status.message ? { status_message: span.status.message } : {}),
    ...(typeof service === 'string' ? { service } : {}),
    attributes: { ...span.attributes },
    events: span.events.map((e) =>
      e.attributes ? { name: e.name, attributes: { ...e.attributes } } : { name: e.name },
    ),
    links: span.links.map((l) => ({ trace_id: l.context.traceId, span_id: l.context.spanId })),
  };
}

/**
 * A span exporter that writes each finished span as one JSON line
 * ({@link JsonSpanLine}): for development and for shipping spans with a log
 * collector when there is no OTLP collector. Writes synchronously from the
 * span processor's export call; never fails an export for a bad span.
 *
 * @example
 * ```ts
 * setupTracing({ serviceName: 'order', exporter: jsonLinesSpanExporter({ destination: process.stderr }) });
 * ```
 */
export function jsonLinesSpanExporter(options: JsonLinesSpanExporterOptions = {}): SpanExporter {
  const destination = options.destination ?? process.stderr;
  let stopped = false;
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      if (stopped) {
        done({ code: ExportResultCode.FAILED, error: new Error('jsonLinesSpanExporter: shut down') });
        return;
      }
      try {
        let text = '';
        for (const span of spans) text += `${JSON.stringify(spanToJsonLine(span))}\n`;
        if (text !== '') destination.write(text);
        done({ code: ExportResultCode.SUCCESS });
      } catch (error) {
        done({
          code: ExportResultCode.FAILED,
          error: error instanceof Error ? error : new Error(String(error)),
        });
      }
    },
    shutdown(): Promise<void> {
      stopped = true;
      return Promise.resolve();
    },
    forceFlush(): Promise<void> {
      return Promise.resolve();
    },
  };
}
