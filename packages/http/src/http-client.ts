import { randomUUID } from 'node:crypto';
import {
  context,
  isSpanContextValid,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  type BulkheadOptions,
  bulkhead,
  type CircuitBreakerOptions,
  circuitBreaker,
  Deadline,
  type ExecutionContext,
  type Pipeline,
  type Policy,
  pipeline,
  type RetryBudgetOptions,
  type RetryOptions,
  retry,
  retryBudget,
  TimeoutError,
  timeout,
} from '@sluice/resilience';
import { type Dispatcher, Pool } from 'undici';
import { errorFromResponse, errorFromTransport } from './client-errors.js';
import { formatDeadlineHeader } from './deadline-header.js';
import { HttpHeaders } from './headers.js';
import { formatIdempotencyKey } from './idempotency-key.js';
import { currentRequestScope } from './request-scope.js';

/** HTTP methods the client speaks. */
export type HttpMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Methods RFC 9110 defines as idempotent: retried by the client's retry policy. */
export const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
]);

/**
 * The resilient client's policies, outermost first: bulkhead → circuit
 * breaker → retry (with a retry budget) → per-attempt timeout. Each part
 * takes the options of its `@sluice/resilience` factory; `false` leaves it out.
 */
export interface HttpResilienceOptions {
  /** Default `{ maxConcurrent: connections, maxQueued: 4 × connections }`. */
  readonly bulkhead?: BulkheadOptions | false;
  /** Default `{}` (opens after 5 consecutive failures, 10 s open). */
  readonly circuitBreaker?: CircuitBreakerOptions | false;
  /** Default `{ maxAttempts: 3 }` (exponential backoff with full jitter; honours `Retry-After`). */
  readonly retry?: Omit<RetryOptions, 'budget'> | false;
  /** Budget shared by every retry of this client. Default `{}` (retries add ≤ 20 % + 10/s). */
  readonly retryBudget?: RetryBudgetOptions | false;
}

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /** Scheme, host and port of the downstream: `http://127.0.0.1:3001`. Required. */
  readonly origin: string;
  /** Name of the downstream, used in policy names, spans and errors. Default: the origin's host. */
  readonly name?: string;
  /** This service's name, sent as `sluice-caller` (caller identity; scopes idempotency keys). */
  readonly caller?: string;
  /** Limit of each attempt, in ms (a `timeout` policy, innermost). Default 10 000. */
  readonly timeoutMs?: number;
  /**
   * Milliseconds kept back from the deadline sent on the wire, for the
   * response's trip back (`sluice-deadline-ms` = remaining − this). Default 5.
   */
  readonly deadlineOverheadMs?: number;
  /** Keep-alive connections in the pool. Default 64. */
  readonly connections?: number;
  /** How long an idle keep-alive connection is kept, in ms. Default 4 000 (undici's). */
  readonly keepAliveTimeoutMs?: number;
  /** Headers sent with every request (lower-case names). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The resilient client in one line: `true` for the defaults, or options
   * per policy. Default `false`: only the per-attempt timeout. Requests that
   * are neither idempotent (GET, HEAD, OPTIONS, PUT, DELETE) nor keyed
   * (`idempotencyKey`) skip the retry (but still pass bulkhead and breaker).
   */
  readonly resilience?: boolean | HttpResilienceOptions;
  /** A dispatcher to use instead of an own `undici.Pool` (not closed by `close()`). */
  readonly dispatcher?: Dispatcher;
  /** Generates a request id when no request is being handled. Default `crypto.randomUUID`. */
  readonly requestId?: () => string;
}

/** One request. */
export interface HttpRequest {
  readonly method: HttpMethod;
  /** Path, starting with `/` (may carry a query string). */
  readonly path: string;
  /** Query parameters appended to the path; `undefined` values are left out. */
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /**
   * Body: a string, Buffer or Uint8Array is sent as is (set `content-type`);
   * anything else is sent as JSON.
   */
  readonly body?: unknown;
  /** Extra headers (lower-case names). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Sent as `Idempotency-Key`: makes a POST/PATCH safe to retry (the server
   * replays the first result). Use one key per logical operation.
   */
  readonly idempotencyKey?: string;
  /** Budget of the whole call, retries included, in ms (a deadline). Default: none. */
  readonly timeoutMs?: number;
  /** The call's deadline; tightened by the current `withDeadline()` one and `timeoutMs`. */
  readonly deadline?: Deadline;
  /** Aborts the call (`CancelledError`). */
  readonly signal?: AbortSignal;
}

/** Options of the shorthand methods (`get`, `post`, …). */
export type HttpCallOptions = Omit<HttpRequest, 'method' | 'path' | 'body'>;

/** A successful (status < 400) response, its body read in full. */
export interface HttpResponse<T = unknown> {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON when the content type says JSON; a string otherwise (`undefined` when empty). */
  readonly body: T;
}

/** A client of one downstream origin. See {@link createHttpClient}. */
export interface HttpClient {
  /** Sends a request; resolves with a 1xx–3xx response, rejects with a `SluiceError` otherwise. */
  request<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>>;
  get<T = unknown>(path: string, options?: HttpCallOptions): Promise<HttpResponse<T>>;
  delete<T = unknown>(path: string, options?: HttpCallOptions): Promise<HttpResponse<T>>;
  post<T = unknown>(path: string, body?: unknown, options?: HttpCallOptions): Promise<HttpResponse<T>>;
  put<T = unknown>(path: string, body?: unknown, options?: HttpCallOptions): Promise<HttpResponse<T>>;
  patch<T = unknown>(path: string, body?: unknown, options?: HttpCallOptions): Promise<HttpResponse<T>>;
  /** The policies of retried requests, outermost first (for metrics and events). */
  readonly policy: Pipeline;
  /** Closes the pool (waits for in-flight requests). */
  close(): Promise<void>;
}

const tracer = trace.getTracer('@sluice/http');

function isRaw(body: unknown): body is string | Uint8Array {
  return typeof body === 'string' || body instanceof Uint8Array;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function withQuery(path: string, query: HttpRequest['query']): string {
  if (query === undefined) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.append(k, String(v));
  const qs = params.toString();
  if (qs === '') return path;
  return `${path}${path.includes('?') ? '&' : '?'}${qs}`;
}

class UndiciHttpClient implements HttpClient {
  readonly policy: Pipeline;
  private readonly unsafe: Pipeline;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly name: string;
  private readonly host: string;
  private readonly port: number;
  private readonly origin: string;
  private readonly caller: string | undefined;
  private readonly overheadMs: number;
  private readonly defaultHeaders: Readonly<Record<string, string>>;
  private readonly newRequestId: () => string;

  constructor(options: HttpClientOptions) {
    const url = new URL(options.origin);
    this.origin = url.origin;
    this.host = url.hostname;
    this.port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    this.name = options.name ?? url.host;
    this.caller = options.caller;
    this.overheadMs = options.deadlineOverheadMs ?? 5;
    this.defaultHeaders = options.headers ?? {};
    this.newRequestId = options.requestId ?? randomUUID;
    const connections = options.connections ?? 64;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Pool(this.origin, {
        connections,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
        pipelining: 1,
      });

    const attemptTimeout = timeout(options.timeoutMs ?? 10_000, { name: this.name });
    const r: HttpResilienceOptions | undefined =
      options.resilience === true ? {} : options.resilience === false ? undefined : options.resilience;
    const outer: Policy[] = [];
    const retrying: Policy[] = [];
    if (r !== undefined) {
      if (r.bulkhead !== false) {
        outer.push(
          bulkhead({
            name: this.name,
            maxConcurrent: connections,
            maxQueued: 4 * connections,
            ...r.bulkhead,
          }),
        );
      }
      if (r.circuitBreaker !== false) outer.push(circuitBreaker({ name: this.name, ...r.circuitBreaker }));
      if (r.retry !== false) {
        const budget =
          r.retryBudget === false ? undefined : retryBudget({ name: this.name, ...r.retryBudget });
        retrying.push(
          retry({ name: this.name, maxAttempts: 3, ...r.retry, ...(budget === undefined ? {} : { budget }) }),
        );
      }
    }
    this.policy = pipeline(...([...outer, ...retrying, attemptTimeout] as unknown as [Policy, ...Policy[]]));
    this.unsafe = pipeline(...([...outer, attemptTimeout] as unknown as [Policy, ...Policy[]]));
  }

  request<T>(req: HttpRequest): Promise<HttpResponse<T>> {
    const safe = IDEMPOTENT_METHODS.has(req.method) || req.idempotencyKey !== undefined;
    let deadline = req.deadline;
    if (req.timeoutMs !== undefined) deadline = Deadline.after(req.timeoutMs).min(deadline);
    return (safe ? this.policy : this.unsafe).execute((ctx) => this.attempt<T>(req, ctx), {
      signal: req.signal,
      deadline,
    });
  }

  get<T>(path: string, options?: HttpCallOptions) {
    return this.request<T>({ ...options, method: 'GET', path });
  }
  delete<T>(path: string, options?: HttpCallOptions) {
    return this.request<T>({ ...options, method: 'DELETE', path });
  }
  post<T>(path: string, body?: unknown, options?: HttpCallOptions) {
    return this.request<T>({ ...options, method: 'POST', path, body });
  }
  put<T>(path: string, body?: unknown, options?: HttpCallOptions) {
    return this.request<T>({ ...options, method: 'PUT', path, body });
  }
  patch<T>(path: string, body?: unknown, options?: HttpCallOptions) {
    return this.request<T>({ ...options, method: 'PATCH', path, body });
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** undici's own timeouts (the backstop of the timeout policy) are timeouts too. */
  private transportError(
    error: unknown,
    signal: AbortSignal | undefined,
    req: HttpRequest,
    limitMs: number | null,
  ) {
    const code = (error as { code?: unknown } | null)?.code;
    if ((code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') && limitMs !== null) {
      return new TimeoutError(`${this.name} ${req.method} ${req.path}`, limitMs);
    }
    return errorFromTransport(error, signal, `${this.name} ${req.method} ${req.path}`);
  }

  /** One attempt: headers, span, the undici request, the response mapped. */
  private async attempt<T>(req: HttpRequest, ctx: ExecutionContext): Promise<HttpResponse<T>> {
    const scope = currentRequestScope();
    const headers: Record<string, string> = {
      ...this.defaultHeaders,
      ...req.headers,
      [HttpHeaders.requestId]:
        req.headers?.[HttpHeaders.requestId] ?? scope?.requestId ?? this.newRequestId(),
    };
    if (this.caller !== undefined) headers[HttpHeaders.caller] = this.caller;
    // The timeout policy narrows ctx.deadline to this attempt's limit, so
    // there always is one: the callee learns how long we will wait.
    const deadline = ctx.deadline;
    if (deadline !== undefined)
      headers[HttpHeaders.deadline] = formatDeadlineHeader(deadline, this.overheadMs);
    if (req.idempotencyKey !== undefined)
      headers[HttpHeaders.idempotencyKey] = formatIdempotencyKey(req.idempotencyKey);
    let body: string | Uint8Array | undefined;
    if (req.body !== undefined) {
      if (isRaw(req.body)) body = req.body;
      else {
        body = JSON.stringify(req.body);
        headers['content-type'] ??= 'application/json';
      }
    }
    const path = withQuery(req.path, req.query);

    const parent = context.active();
    const span: Span = tracer.startSpan(req.method, { kind: SpanKind.CLIENT }, parent);
    // Attributes only for a span that records (without an SDK nobody reads them).
    if (span.isRecording()) {
      span.setAttributes({
        'http.request.method': req.method,
        'server.address': this.host,
        'server.port': this.port,
        'url.full': `${this.origin}${path}`,
        ...(ctx.attempt > 1 ? { 'http.request.resend_count': ctx.attempt - 1 } : {}),
      });
    }
    // A no-op span (no SDK) has an invalid context: nothing to propagate.
    if (isSpanContextValid(span.spanContext())) propagation.inject(trace.setSpan(parent, span), headers);

    // An AbortSignal handed to undici costs ~15 µs of CPU per request here
    // (listener bookkeeping and GC), half of a bare request. So the common
    // case passes none: the timeout policy (aggressive) rejects at the limit
    // on its own shared timer, and undici's headers/body timeouts, set to the
    // same limit, free the connection. Only a caller's own signal is passed.
    const signal = req.signal === undefined ? undefined : ctx.signal;
    const limitMs = deadline === undefined ? null : Math.max(1, Math.ceil(deadline.remaining()));
    try {
      let res: Dispatcher.ResponseData;
      try {
        res = await this.dispatcher.request({
          origin: this.origin,
          method: req.method,
          path,
          headers,
          body: body ?? null,
          headersTimeout: limitMs,
          bodyTimeout: limitMs,
          ...(signal === undefined ? {} : { signal }),
        });
      } catch (error) {
        throw this.transportError(error, signal, req, limitMs);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      const contentType = firstHeader(res.headers['content-type']);
      let text: string;
      try {
        text = await res.body.text();
      } catch (error) {
        throw this.transportError(error, signal, req, limitMs);
      }
      let parsed: unknown;
      if (text.length > 0) {
        if (contentType?.includes('json')) {
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = text;
          }
        } else parsed = text;
      }
      if (res.statusCode >= 400) {
        throw errorFromResponse(res.statusCode, contentType, parsed, firstHeader(res.headers['retry-after']));
      }
      return { status: res.statusCode, headers: res.headers, body: parsed as T };
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  }
}

/**
 * A client of one downstream, on an undici `Pool` (keep-alive connections).
 * Every call sends `x-request-id` (the current request's, or a new one),
 * `sluice-caller`, `sluice-deadline-ms` (what is left of the call's
 * deadline: the current `withDeadline()` one, `deadline`, `timeoutMs` and
 * the attempt's limit, whichever is tightest) and W3C `traceparent`, and
 * opens a client span. Error responses and failures reject with a
 * `SluiceError` whose code comes from the shared table.
 *
 * @example
 * ```ts
 * const inventory = createHttpClient({ origin: 'http://127.0.0.1:3001', caller: 'order', resilience: true });
 * const { body } = await inventory.get<{ available: boolean }>('/api/v1/inventory/sku-1/availability', {
 *   query: { quantity: 2 },
 * });
 * ```
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  return new UndiciHttpClient(options);
}
