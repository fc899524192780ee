import { context, trace } from '@opentelemetry/api';
import { type DestinationStream, type Level, type Logger, type LoggerOptions, pino } from 'pino';
import { invalidOption } from './invalid-options.js';
import { getLogContext } from './log-context.js';

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** The `service` field of every line. Required, non-empty. */
  readonly service: string;
  /** Lowest level written: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. Default `'info'`. */
  readonly level?: Level | 'silent';
  /**
   * Where lines go: any stream with `write(string)`. Default: stdout
   * (pino's own asynchronous writer).
   */
  readonly destination?: DestinationStream;
  /** Extra fields on every line (`version`, `instance`). */
  readonly base?: Readonly<Record<string, string | number | boolean>>;
  /** Paths to censor (pino `redact` syntax, e.g. `['req.headers.authorization']`). Default none. */
  readonly redact?: readonly string[];
}

const LEVELS: ReadonlySet<string> = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * The fields a line gets from where it was written: the active span's
 * `trace_id` / `span_id` (when a valid span is active) and the fields bound
 * with `runWithLogContext`. Exported for custom pino setups.
 */
export function logCorrelationFields(): Record<string, string | number | boolean> {
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(getLogContext())) if (value !== undefined) fields[key] = value;
  const span = trace.getSpan(context.active());
  if (span !== undefined) {
    const sc = span.spanContext();
    if (trace.isSpanContextValid(sc)) {
      fields.trace_id = sc.traceId;
      fields.span_id = sc.spanId;
      fields.trace_flags = sc.traceFlags & 1 ? '01' : '00';
    }
  }
  return fields;
}

/**
 * A pino logger writing one JSON object per line: `level` (as a word),
 * `time` (ISO 8601), `service`, `msg`, plus `trace_id`, `span_id` and
 * `trace_flags` of the active OpenTelemetry span and the fields bound with
 * `runWithLogContext` (`request_id`, `correlation_id`, …). Errors logged as
 * `{ err }` keep a `SluiceError`'s `code`, `reason` and `details`.
 *
 * @throws SluiceError `invalid_argument` / `OBSERVABILITY_INVALID_OPTION` for an empty service or unknown level.
 * @example
 * ```ts
 * const log = createLogger({ service: 'order', level: 'info' });
 * log.info({ orderId }, 'order placed'); // {"level":"info","time":"…","service":"order","trace_id":"…","orderId":"o-1","msg":"order placed"}
 * ```
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  if (typeof options?.service !== 'string' || options.service === '')
    throw invalidOption('createLogger', 'service', 'must be a non-empty string');
  const level = options.level ?? 'info';
  if (!LEVELS.has(level))
    throw invalidOption('createLogger', 'level', `must be one of ${[...LEVELS].join(', ')}`);
  const config: LoggerOptions = {
    level,
    base: { service: options.service, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: logCorrelationFields,
    ...(options.redact ? { redact: [...options.redact] } : {}),
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

export type { Logger };
