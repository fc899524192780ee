import {
  codeFromHttpStatus,
  type FieldViolation,
  isSluiceError,
  PROBLEM_CONTENT_TYPE,
  SluiceError,
  toProblem,
} from '@sluice/errors';
import type { FastifyError, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpReasons } from './reasons.js';

/** Options of {@link problemDetailsPlugin}. */
export interface ProblemDetailsOptions {
  /**
   * Called with every error answered with a 5xx (log it; the response says
   * nothing internal). Default: `request.log.error`.
   */
  readonly onServerError?: (error: unknown, request: FastifyRequest) => void;
}

/** An error as it goes on the wire: the Sluice error and the HTTP status. */
export interface HttpErrorResponse {
  readonly error: SluiceError;
  /** The status to answer with (the code's, except 413 and 415). */
  readonly status: number;
}

interface ValidationEntry {
  readonly instancePath?: string;
  readonly message?: string;
  readonly keyword?: string;
  readonly schemaPath?: string;
  readonly params?: Record<string, unknown>;
}

/** `/items/0/quantity` → `body.items.0.quantity`. */
function fieldOf(part: string, pointer: string | undefined, extra?: string): string {
  const segments = (pointer ?? '')
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) segments.push(extra);
  return [part, ...segments].join('.');
}

/**
 * Field violations from Fastify's validation error (Ajv or TypeBox entries):
 * one per field, missing and unknown properties named individually.
 */
export function violationsOf(entries: readonly ValidationEntry[], part: string): FieldViolation[] {
  const out: FieldViolation[] = [];
  const seen = new Set<string>();
  const add = (field: string, message: string) => {
    const k = `${field}\u0000${message}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push({ field, message });
  };
  for (const e of entries) {
    const params = e.params ?? {};
    if (e.keyword === 'required') {
      const missing = params.requiredProperties ?? params.missingProperty;
      for (const name of Array.isArray(missing) ? missing : [missing]) {
        add(fieldOf(part, e.instancePath, String(name)), 'is required');
      }
    } else if (e.keyword === 'additionalProperties') {
      const extra = params.additionalProperties ?? params.additionalProperty;
      for (const name of Array.isArray(extra) ? extra : [extra]) {
        add(fieldOf(part, e.instancePath, String(name)), 'is not a known field');
      }
    } else if (e.keyword === 'boolean' && e.schemaPath?.endsWith('additionalProperties')) {
      // TypeBox reports an unknown field twice; the additionalProperties entry names it.
      const pointer = e.instancePath ?? '';
      const cut = pointer.lastIndexOf('/');
      add(fieldOf(part, pointer.slice(0, cut), pointer.slice(cut + 1)), 'is not a known field');
    } else {
      add(fieldOf(part, e.instancePath), e.message ?? 'is invalid');
    }
  }
  return out;
}

/**
 * Maps anything a route, hook or Fastify itself threw to the error and
 * status a client sees. Sluice errors keep their code and reason; Fastify's
 * validation, body-parsing, size and media-type errors become
 * `invalid_argument` with a precise reason and field violations; any other
 * 4xx keeps its status; everything else is a 500 that reveals nothing.
 */
export function toHttpError(error: unknown): HttpErrorResponse {
  if (isSluiceError(error)) return { error, status: toProblem(error).status };
  const fe = error as Partial<FastifyError> & { validation?: ValidationEntry[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const part = fe.validationContext ?? 'body';
    const violations = violationsOf(fe.validation, part);
    return {
      status: 400,
      error: new SluiceError({
        code: 'invalid_argument',
        reason: HttpReasons.INVALID_REQUEST,
        message: `the request ${part} is invalid: ${violations.map((v) => `${v.field} ${v.message}`).join('; ')}`,
        details: { violations },
        cause: error,
      }),
    };
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        error: new SluiceError({
          code: 'invalid_argument',
          reason: HttpReasons.BODY_TOO_LARGE,
          message: 'the request body is larger than this route accepts',
          details: { violations: [{ field: 'body', message: 'is too large' }] },
          cause: error,
        }),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        error: new SluiceError({
          code: 'invalid_argument',
          reason: HttpReasons.UNSUPPORTED_MEDIA_TYPE,
          message: fe.message ?? 'unsupported media type',
          details: { violations: [{ field: 'headers.content-type', message: 'is not supported' }] },
          cause: error,
        }),
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return malformed(error, fe.message);
  }
  if (status >= 400 && status < 500) {
    // Body parsers throw plain SyntaxErrors with a 400 (JSON syntax, __proto__ poisoning).
    if (error instanceof SyntaxError || fe.code?.startsWith('FST_ERR_CTP_'))
      return malformed(error, fe.message);
    return {
      status,
      error: new SluiceError({
        code: codeFromHttpStatus(status) ?? 'invalid_argument',
        reason: HttpReasons.REQUEST_REJECTED,
        message: fe.message ?? `HTTP ${status}`,
        cause: error,
      }),
    };
  }
  return {
    status: 500,
    error: new SluiceError({
      code: 'internal',
      reason: 'INTERNAL_UNEXPECTED',
      message: 'internal error',
      cause: error,
    }),
  };
}

function malformed(cause: unknown, detail: string | undefined): HttpErrorResponse {
  return {
    status: 400,
    error: new SluiceError({
      code: 'invalid_argument',
      reason: HttpReasons.MALFORMED_BODY,
      message: `the request body is malformed${detail ? `: ${detail}` : ''}`,
      details: { violations: [{ field: 'body', message: 'is not valid for its content type' }] },
      cause,
    }),
  };
}

/**
 * Sends `error` as an RFC 9457 `application/problem+json` response, with
 * `Retry-After` (seconds) when the error carries `retryAfterMs` and the
 * request id as the `requestId` extension member.
 */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const { error: e, status } = toHttpError(error);
  const problem = { ...toProblem(e, request.url), status, requestId: String(request.id) };
  if (e.retryAfterMs !== undefined) reply.header('retry-after', String(Math.ceil(e.retryAfterMs / 1000)));
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

const plugin: FastifyPluginCallback<ProblemDetailsOptions> = (app, options, next) => {
  const onServerError =
    options.onServerError ??
    ((error: unknown, request: FastifyRequest) => request.log.error({ err: error }, 'request failed'));
  app.setErrorHandler((error, request, reply) => {
    const { status } = toHttpError(error);
    if (status >= 500) onServerError(error, request);
    return sendProblem(request, reply, error);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      new SluiceError({
        code: 'not_found',
        reason: HttpReasons.ROUTE_NOT_FOUND,
        message: `no route ${request.method} ${request.url.split('?', 1)[0]}`,
      }),
    ),
  );
  next();
};

/**
 * Every error as RFC 9457 `application/problem+json` (through
 * `@sluice/errors`' `toProblem`): the status from the shared table, `code`,
 * `reason`, `errors` (field violations), `retryAfterMs`, `requestId`.
 * Unknown routes answer 404 `HTTP_ROUTE_NOT_FOUND`. See {@link toHttpError}.
 */
export const problemDetailsPlugin = fp(plugin, { name: '@sluice/http.problem-details', fastify: '5.x' });
