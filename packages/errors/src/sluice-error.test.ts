import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from './codes.js';
import { fromGrpcStatus, fromHttpStatus, fromProblem, parseRetryAfter, toProblem } from './problem.js';
import { isRetryable, isSluiceError, SluiceError, toSluiceError } from './sluice-error.js';
import { codeFromGrpcStatus, codeFromHttpStatus, grpcStatusOf, httpStatusOf } from './status-mapping.js';

const codeArb = fc.constantFrom(...ERROR_CODES);

describe('SluiceError', () => {
  it('is retryable by default only for unavailable, deadline_exceeded and resource_exhausted', () => {
    const retryable = ERROR_CODES.filter((code) => new SluiceError({ code, reason: 'X_Y' }).retryable);
    expect(retryable.sort()).toEqual(['deadline_exceeded', 'resource_exhausted', 'unavailable']);
  });

  it('lets an error override its retryability', () => {
    expect(new SluiceError({ code: 'unavailable', reason: 'X_Y', retryable: false }).retryable).toBe(false);
    expect(new SluiceError({ code: 'internal', reason: 'X_Y', retryable: true }).retryable).toBe(true);
  });

  it('keeps the cause but never serialises it', () => {
    const cause = new Error('db down');
    const err = new SluiceError({ code: 'unavailable', reason: 'DB_DOWN', cause });
    expect(err.cause).toBe(cause);
    expect(JSON.stringify(err)).not.toContain('db down');
  });

  it('round-trips through toJSON and fromJSON', () => {
    fc.assert(
      fc.property(codeArb, fc.string(), fc.option(fc.nat()), (code, message, retryAfterMs) => {
        const err = new SluiceError({
          code,
          reason: 'TEST_REASON',
          message,
          ...(retryAfterMs === null ? {} : { retryAfterMs }),
          details: { violations: [{ field: 'a.b', message: 'bad' }] },
        });
        const back = SluiceError.fromJSON(JSON.parse(JSON.stringify(err)));
        expect(back.toJSON()).toEqual(err.toJSON());
      }),
    );
  });
});

describe('isSluiceError', () => {
  it('recognises an error from another copy of the package by its brand', () => {
    // A structurally identical object carrying the global brand stands for a second package copy.
    const foreign = Object.create(
      Object.defineProperty({}, Symbol.for('@sluice/errors.SluiceError'), { value: true }),
    ) as object;
    Object.assign(foreign, { code: 'not_found', reason: 'X' });
    expect(isSluiceError(foreign)).toBe(true);
    expect(isSluiceError(new Error('x'))).toBe(false);
    expect(isSluiceError({ code: 'not_found', reason: 'X' })).toBe(false);
    expect(isSluiceError(null)).toBe(false);
    expect(isSluiceError('unavailable')).toBe(false);
  });

  it('treats unknown errors as not retryable', () => {
    expect(isRetryable(new Error('boom'))).toBe(false);
    expect(isRetryable(new SluiceError({ code: 'unavailable', reason: 'X' }))).toBe(true);
  });

  it('wraps foreign throwables as internal with the cause kept', () => {
    const cause = new TypeError('nope');
    const wrapped = toSluiceError(cause);
    expect(wrapped.code).toBe('internal');
    expect(wrapped.reason).toBe('INTERNAL_UNEXPECTED');
    expect(wrapped.cause).toBe(cause);
    const own = new SluiceError({ code: 'aborted', reason: 'X' });
    expect(toSluiceError(own)).toBe(own);
  });
});

describe('status mapping', () => {
  it('maps every code to a gRPC status and back exactly', () => {
    for (const code of ERROR_CODES) expect(codeFromGrpcStatus(grpcStatusOf(code))).toBe(code);
  });

  it('maps every code to an HTTP status whose canonical code answers with the same status', () => {
    for (const code of ERROR_CODES) {
      const back = codeFromHttpStatus(httpStatusOf(code)) as ErrorCode;
      expect(httpStatusOf(back)).toBe(httpStatusOf(code));
    }
  });

  it('maps the statuses clients meet to the documented codes', () => {
    expect(codeFromHttpStatus(404)).toBe('not_found');
    expect(codeFromHttpStatus(409)).toBe('aborted');
    expect(codeFromHttpStatus(422)).toBe('failed_precondition');
    expect(codeFromHttpStatus(429)).toBe('resource_exhausted');
    expect(codeFromHttpStatus(500)).toBe('internal');
    expect(codeFromHttpStatus(502)).toBe('unavailable');
    expect(codeFromHttpStatus(503)).toBe('unavailable');
    expect(codeFromHttpStatus(504)).toBe('deadline_exceeded');
    expect(codeFromHttpStatus(200)).toBeUndefined();
    expect(codeFromGrpcStatus(0)).toBeUndefined();
    expect(codeFromGrpcStatus(17)).toBeUndefined();
  });

  it('gives every HTTP status from 400 to 599 a code', () => {
    fc.assert(fc.property(fc.integer({ min: 400, max: 599 }), (s) => codeFromHttpStatus(s) !== undefined));
  });
});

describe('problem details', () => {
  it('renders RFC 9457 fields and Sluice extensions', () => {
    const err = new SluiceError({
      code: 'invalid_argument',
      reason: 'HTTP_VALIDATION_FAILED',
      message: 'body is invalid',
      details: { violations: [{ field: 'items.0.quantity', message: 'must be >= 1' }] },
    });
    expect(toProblem(err, '/api/v1/orders')).toEqual({
      type: 'urn:sluice:problem:HTTP_VALIDATION_FAILED',
      title: 'Invalid argument',
      status: 400,
      detail: 'body is invalid',
      instance: '/api/v1/orders',
      code: 'invalid_argument',
      reason: 'HTTP_VALIDATION_FAILED',
      errors: [{ field: 'items.0.quantity', message: 'must be >= 1' }],
    });
  });

  it('round-trips code, reason, violations and retryAfterMs through a problem body', () => {
    fc.assert(
      fc.property(codeArb, fc.option(fc.nat({ max: 10_000_000 })), (code, retryAfterMs) => {
        const err = new SluiceError({
          code,
          reason: 'SOME_REASON',
          message: 'm',
          ...(retryAfterMs === null ? {} : { retryAfterMs }),
          details: { violations: [{ field: 'x', message: 'y' }], metadata: { id: '1' } },
        });
        const problem = toProblem(err);
        const back = fromProblem(JSON.parse(JSON.stringify(problem)), problem.status);
        expect(back.toJSON()).toEqual(err.toJSON());
      }),
    );
  });

  it('never throws on an arbitrary body and always yields an error of the status class', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 400, max: 599 }), (body, status) => {
        const err = fromProblem(body, status);
        expect(isSluiceError(err)).toBe(true);
      }),
    );
  });

  it('prefers a Retry-After header over the body', () => {
    const err = fromProblem({ code: 'unavailable', reason: 'X', retryAfterMs: 5 }, 503, { retryAfter: '2' });
    expect(err.retryAfterMs).toBe(2000);
  });
});

describe('fromHttpStatus and fromGrpcStatus', () => {
  it('reads Retry-After in seconds and as an HTTP date', () => {
    expect(fromHttpStatus(429, { retryAfter: '3' }).retryAfterMs).toBe(3000);
    const now = () => Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(-1)).toBeUndefined();
  });

  it('refuses non-error statuses', () => {
    expect(() => fromHttpStatus(204)).toThrow(RangeError);
    expect(() => fromGrpcStatus(0)).toThrow(RangeError);
  });

  it('carries the gRPC reason and pushback', () => {
    const err = fromGrpcStatus(8, { reason: 'RATE_LIMITED', retryAfter: 250 });
    expect(err.code).toBe('resource_exhausted');
    expect(err.reason).toBe('RATE_LIMITED');
    expect(err.retryAfterMs).toBe(250);
    expect(err.retryable).toBe(true);
  });
});
