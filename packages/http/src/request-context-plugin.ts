import { randomUUID } from 'node:crypto';
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { type Clock, Deadline, DeadlineExceededError, systemClock, withDeadline } from '@sluice/resilience';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { parseDeadlineHeader } from './deadline-header.js';
import { HttpHeaders } from './headers.js';
import { type RequestScope, runInRequestScope } from './request-scope.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The request's deadline: from `sluice-deadline-ms` (clamped to
     * `maxDeadlineMs`), else `defaultDeadlineMs`, else `undefined`. Its
     * `remaining()` is the handler's budget; client calls made while
     * handling the request inherit it (it is also the current
     * `withDeadline()` deadline).
     */
    deadline: Deadline | undefined;
    /** The calling service's name (`sluice-caller`), if sent. */
    caller: string | undefined;
  }
}

/** Options of {@link requestContextPlugin}. */
export interface RequestContextOptions {
  /** Deadline in ms for requests that carry no `sluice-deadline-ms`. Default: none. */
  readonly defaultDeadlineMs?: number;
  /** Largest deadline accepted from a caller, in ms (longer ones are clamped). Default: no limit. */
  readonly maxDeadlineMs?: number;
  /** Open a server span per request (`@opentelemetry/api`; a no-op without an SDK). Default true. */
  readonly tracing?: boolean;
  /** Clock of the deadlines. Default `systemClock`. */
  readonly clock?: Clock;
  /**
   * Make the request id and deadline current (AsyncLocalStorage) while the
   * request is handled, so client calls inherit them without being passed
   * them. On Node 20, AsyncLocalStorage runs on async_hooks, whose promise
   * hooks tax every async operation of the process (see bench/RESULTS.md);
   * `false` skips it: `request.deadline` is still set, but outgoing calls
   * must be given `deadline: request.deadline` and the request id by hand.
   * Default true.
   */
  readonly asyncContext?: boolean;
}

const kOtel = Symbol('sluice.otelContext');
const kScope = Symbol('sluice.scope');

interface Internals {
  [kOtel]?: Context | undefined;
  [kScope]?: RequestScope;
}

const tracer = trace.getTracer('@sluice/http');

/** Ends a server span with the response status (`undefined`: the client went away first). */
function endSpan(span: Span, status: number | undefined): void {
  if (status === undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed before the response was sent' });
  } else {
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

const SAFE_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * A request id for Fastify's `genReqId`: the incoming `x-request-id` when it
 * is 1–128 safe characters, else a new UUID (so a caller cannot inject
 * arbitrary text into logs).
 */
export function requestIdFrom(headers: Readonly<Record<string, string | string[] | undefined>>): string {
  const v = headers[HttpHeaders.requestId];
  return typeof v === 'string' && SAFE_ID.test(v) ? v : randomUUID();
}

/**
 * Re-enters the request's scope (request id, deadline, trace context) and
 * calls `done` inside it. Fastify reads the body from socket events, which
 * lose AsyncLocalStorage context, so the plugin enters on `onRequest` and
 * again on `preValidation`.
 */
function enter(request: FastifyRequest, done: HookHandlerDoneFunction): void {
  const r = request as unknown as Internals;
  const scope = r[kScope];
  if (scope === undefined) {
    // asyncContext: false — only the trace context (its own manager) is entered.
    const otel = r[kOtel];
    if (otel === undefined) done();
    else context.with(otel, done);
    return;
  }
  const deadline = request.deadline;
  const run =
    deadline === undefined
      ? () => runInRequestScope(scope, done)
      : () => runInRequestScope(scope, () => withDeadline(deadline, done));
  const otel = r[kOtel];
  if (otel === undefined) run();
  else context.with(otel, run);
}

const plugin: FastifyPluginCallback<RequestContextOptions> = (app, options, next) => {
  const tracing = options.tracing ?? true;
  const clock = options.clock ?? systemClock;
  const maxMs = options.maxDeadlineMs;
  const defaultMs = options.defaultDeadlineMs;
  const asyncContext = options.asyncContext ?? true;
  app.decorateRequest('deadline', undefined);
  app.decorateRequest('caller', undefined);

  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    reply.header(HttpHeaders.requestId, request.id);
    const callerHeader = request.headers[HttpHeaders.caller];
    const caller = typeof callerHeader === 'string' && callerHeader.length <= 128 ? callerHeader : undefined;
    request.caller = caller;
    const r = request as unknown as Internals;
    if (asyncContext) r[kScope] = { requestId: String(request.id), caller };

    if (tracing) {
      const parent = propagation.extract(ROOT_CONTEXT, request.headers);
      // Name and attributes only for a span that records: without an SDK
      // nobody reads them, and building them (the route lookup allocates) is
      // most of what tracing would cost here.
      const span = tracer.startSpan(request.method, { kind: SpanKind.SERVER }, parent);
      if (span.isRecording()) {
        const route = request.routeOptions.url;
        if (route !== undefined) span.updateName(`${request.method} ${route}`);
        span.setAttributes({
          'http.request.method': request.method,
          'url.path': request.url.split('?', 1)[0] as string,
          ...(route === undefined ? {} : { 'http.route': route }),
          'sluice.request_id': String(request.id),
        });
      }
      // Without an SDK the span records nothing: no listener, no hook, and
      // with no incoming trace no context worth making current either.
      if (span.isRecording()) {
        const res = reply.raw;
        res.once('close', () => endSpan(span, res.writableFinished ? res.statusCode : undefined));
      }
      if (span.isRecording() || trace.getSpanContext(parent) !== undefined)
        r[kOtel] = trace.setSpan(parent, span);
    }

    let ms: number | undefined;
    try {
      ms = parseDeadlineHeader(request.headers[HttpHeaders.deadline]);
    } catch (error) {
      done(error as Error);
      return;
    }
    ms ??= defaultMs;
    if (ms !== undefined) {
      if (maxMs !== undefined && ms > maxMs) ms = maxMs;
      request.deadline = Deadline.after(ms, clock);
      if (ms <= 0) {
        // The caller has already given up: do no work for it.
        done(new DeadlineExceededError('the request arrived with no time left on its deadline'));
        return;
      }
    }
    enter(request, done);
  });

  app.addHook('preValidation', (request, _reply, done) => enter(request, done));

  next();
};

/**
 * Per-request context: echoes `x-request-id` (Fastify's `request.id`; see
 * {@link requestIdFrom}), reads `sluice-caller` into `request.caller` and
 * `sluice-deadline-ms` into `request.deadline`, opens a server span from
 * the incoming `traceparent`, and runs the hooks and handler with all three
 * current (AsyncLocalStorage), so client calls made while handling the
 * request forward its id, inherit its deadline and join its trace. A
 * malformed deadline header is a 400; an expired one a 504 before any work.
 */
export const requestContextPlugin = fp(plugin, { name: '@sluice/http.request-context', fastify: '5.x' });
