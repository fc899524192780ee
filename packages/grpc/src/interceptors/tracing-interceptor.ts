import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { grpcStatusOf, isSluiceError } from '@sluice/errors';
import type { CallRequest, CallResponse, Interceptor } from '../call.js';
import { requestHeaderValue } from '../server-call.js';

/** Options of {@link tracingInterceptor}. */
export interface TracingOptions {
  /** The tracer. Default: `trace.getTracer('@sluice/grpc')` (a no-op until an SDK is registered). */
  readonly tracer?: Tracer;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a W3C `traceparent` into a remote span context. */
function parentFrom(req: CallRequest) {
  const value = requestHeaderValue(req, 'traceparent');
  const m = value === null ? null : TRACEPARENT.exec(value.trim());
  if (m === null) return ROOT_CONTEXT;
  const spanContext = {
    traceId: m[1] as string,
    spanId: m[2] as string,
    traceFlags: Number.parseInt(m[3] as string, 16),
    isRemote: true,
  };
  if (!isSpanContextValid(spanContext)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

function endWith(span: Span, error: unknown): void {
  const code = isSluiceError(error) ? grpcStatusOf(error.code) : 2;
  span.setAttribute('rpc.grpc.status_code', code);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  span.end();
}

/** Ends the span when a response stream finishes (or fails, or is abandoned). */
async function* traced(span: Span, messages: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  let ok = false;
  try {
    yield* messages;
    ok = true;
  } catch (e) {
    endWith(span, e);
    throw e;
  } finally {
    if (ok) {
      span.setAttribute('rpc.grpc.status_code', 0);
      span.end();
    } else if (span.isRecording()) span.end();
  }
}

/**
 * OpenTelemetry spans for calls, on `@opentelemetry/api` only. Client side:
 * a CLIENT span named `package.Service/Method`, a child of the active span,
 * whose context is sent as W3C `traceparent` metadata. Server side: a SERVER
 * span, child of the received `traceparent`, active while the handler runs
 * (so calls it makes are its children). Attributes follow the RPC semantic
 * conventions (`rpc.system`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`).
 * With no SDK registered, spans are no-ops and nothing is sent.
 */
export function tracingInterceptor(options: TracingOptions = {}): Interceptor {
  const tracer = options.tracer ?? trace.getTracer('@sluice/grpc');
  return (next) => (req: CallRequest) => {
    const server = req.side === 'server';
    const parent = server ? parentFrom(req) : context.active();
    const span = tracer.startSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: server ? SpanKind.SERVER : SpanKind.CLIENT,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': req.service.typeName,
          'rpc.method': req.method.name,
        },
      },
      parent,
    );
    const sc = span.spanContext();
    // A no-op tracer with no parent: nothing to record or propagate.
    if (!isSpanContextValid(sc) && !span.isRecording()) return next(req);
    if (!server) {
      req.header.set('traceparent', `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & 1).toString(16)}`);
    }
    const active = trace.setSpan(parent, span);
    return context
      .with(active, () => next(req))
      .then(
        (res: CallResponse): CallResponse => {
          if (!res.stream) {
            span.setAttribute('rpc.grpc.status_code', 0);
            span.end();
            return res;
          }
          const messages = traced(span, res.messages);
          return {
            stream: true,
            messages,
            get header() {
              return res.header;
            },
            get trailer() {
              return res.trailer;
            },
          };
        },
        (e: unknown) => {
          endWith(span, e);
          throw e;
        },
      );
  };
}
