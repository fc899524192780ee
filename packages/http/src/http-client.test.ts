import net from 'node:net';
import { Type } from '@fastify/type-provider-typebox';
import { isSluiceError, SluiceError } from '@sluice/errors';
import {
  CircuitOpenError,
  consecutive,
  constant,
  Deadline,
  DeadlineExceededError,
  TimeoutError,
  withDeadline,
} from '@sluice/resilience';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from './http.test-support.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import { createHttpServer, type HttpServer } from './http-server.js';

async function failure(promise: Promise<unknown>): Promise<SluiceError> {
  try {
    await promise;
  } catch (error) {
    if (isSluiceError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('createHttpClient', () => {
  let app: HttpServer;
  let bare: FastifyInstance;
  let origin: string;
  let bareOrigin: string;
  let deadOrigin: string;
  const counts = new Map<string, number>();
  const count = (key: string) => {
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    return n;
  };
  const clients: HttpClient[] = [];
  const client = (options: Partial<Parameters<typeof createHttpClient>[0]> = {}) => {
    const c = createHttpClient({ origin, caller: 'order', ...options });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    app = await createHttpServer();
    app.get('/echo', async (request) => ({
      requestId: request.id,
      caller: request.caller,
      deadlineHeader: request.headers['sluice-deadline-ms'],
      deadlineMs: request.deadline?.remaining(),
      traceparent: request.headers.traceparent ?? null,
      idempotencyKey: request.headers['idempotency-key'] ?? null,
    }));
    app.post(
      '/echo',
      { schema: { body: Type.Object({ n: Type.Integer() }, { additionalProperties: false }) } },
      async (request, reply) => reply.code(201).send({ got: request.body.n }),
    );
    app.get<{ Params: { code: string } }>('/fail/:code', async (request) => {
      const code = request.params.code as SluiceError['code'];
      throw new SluiceError({
        code,
        reason: 'TEST_FAILURE',
        message: `failed with ${code}`,
        ...(code === 'failed_precondition'
          ? { details: { violations: [{ field: 'body.quantity', message: 'too many' }] } }
          : {}),
        ...(code === 'resource_exhausted' || code === 'unavailable' ? { retryAfterMs: 2_000 } : {}),
      });
    });
    // A flaky route: the first two calls of each key answer 503.
    const flaky = async (request: { params: { key: string } }) => {
      if (count(request.params.key) <= 2)
        throw new SluiceError({ code: 'unavailable', reason: 'TEST_FLAKY', message: 'try again' });
      return { ok: true };
    };
    app.get<{ Params: { key: string } }>('/flaky/:key', flaky);
    app.post<{ Params: { key: string } }>('/flaky/:key', flaky);
    app.get<{ Params: { key: string } }>('/always-down/:key', async (request) => {
      count(request.params.key);
      throw new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN' });
    });
    app.get('/slow', async () => {
      await new Promise((r) => setTimeout(r, 1_500));
      return { late: true };
    });
    origin = await listen(app);

    bare = Fastify();
    bare.get('/bad-gateway', async (_request, reply) =>
      reply.code(502).type('text/plain').send('bad gateway'),
    );
    bare.get('/teapot', async (_request, reply) => reply.code(418).type('text/html').send('<h1>teapot</h1>'));
    bare.get('/limited', async (_request, reply) => reply.code(429).header('retry-after', '3').send(''));
    bareOrigin = await listen(bare);

    // A port nobody listens on: bind, note it, close.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    deadOrigin = `http://127.0.0.1:${(probe.address() as net.AddressInfo).port}`;
    await new Promise<void>((r) => probe.close(() => r()));
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await app.close();
    await bare.close();
  });

  it('sends JSON, reads JSON, and sends the request id, caller, deadline and idempotency key', async () => {
    const c = client();
    const created = await c.post<{ got: number }>('/echo', { n: 7 });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ got: 7 });
    const { body } = await c.get<Record<string, unknown>>('/echo', {
      idempotencyKey: 'k-1',
      headers: { 'x-request-id': 'req-123' },
    });
    expect(body.requestId).toBe('req-123');
    expect(body.caller).toBe('order');
    expect(body.idempotencyKey).toBe('"k-1"');
    // The per-attempt limit (10 s default) minus the 5 ms overhead.
    expect(Number(body.deadlineHeader)).toBeGreaterThan(0);
    expect(Number(body.deadlineHeader)).toBeLessThanOrEqual(9_995);
  });

  it('puts the current deadline (withDeadline) and a per-call timeout on the wire', async () => {
    const c = client();
    const inherited = await withDeadline(Deadline.after(3_000), () => c.get<{ deadlineMs: number }>('/echo'));
    expect(inherited.body.deadlineMs).toBeGreaterThan(0);
    expect(inherited.body.deadlineMs).toBeLessThanOrEqual(2_995);
    const perCall = await c.get<{ deadlineMs: number }>('/echo', { timeoutMs: 1_000 });
    expect(perCall.body.deadlineMs).toBeLessThanOrEqual(995);
  });

  it('maps error responses to SluiceError through the shared table and problem bodies', async () => {
    const c = client();
    const notFound = await failure(c.get('/fail/not_found'));
    expect(notFound).toMatchObject({
      code: 'not_found',
      reason: 'TEST_FAILURE',
      message: 'failed with not_found',
    });
    expect(await failure(c.get('/fail/already_exists'))).toMatchObject({ code: 'already_exists' });
    expect(await failure(c.get('/fail/aborted'))).toMatchObject({ code: 'aborted' });
    const invalid = await failure(c.get('/fail/failed_precondition'));
    expect(invalid.code).toBe('failed_precondition');
    expect(invalid.violations).toEqual([{ field: 'body.quantity', message: 'too many' }]);
    const limited = await failure(c.get('/fail/resource_exhausted'));
    expect(limited).toMatchObject({ code: 'resource_exhausted', retryable: true, retryAfterMs: 2_000 });
    const down = await failure(c.get('/fail/unavailable'));
    expect(down).toMatchObject({ code: 'unavailable', retryable: true, retryAfterMs: 2_000 });
    expect(await failure(c.get('/fail/internal'))).toMatchObject({ code: 'internal', retryable: false });
    expect(await failure(c.get('/no-such-route'))).toMatchObject({
      code: 'not_found',
      reason: 'HTTP_ROUTE_NOT_FOUND',
    });
  });

  it('maps statuses of servers that send no problem body', async () => {
    const c = client({ origin: bareOrigin });
    expect(await failure(c.get('/bad-gateway'))).toMatchObject({
      code: 'unavailable',
      reason: 'UPSTREAM_HTTP_ERROR',
      retryable: true,
    });
    expect(await failure(c.get('/teapot'))).toMatchObject({
      code: 'failed_precondition',
      reason: 'UPSTREAM_HTTP_ERROR',
    });
    expect(await failure(c.get('/limited'))).toMatchObject({
      code: 'resource_exhausted',
      retryAfterMs: 3_000,
    });
  });

  it('fails a slow call with deadline_exceeded: TimeoutError for the attempt limit, DeadlineExceededError for a deadline', async () => {
    const byTimeout = await failure(client({ timeoutMs: 100 }).get('/slow'));
    expect(byTimeout).toBeInstanceOf(TimeoutError);
    expect(byTimeout.code).toBe('deadline_exceeded');
    const byDeadline = await failure(client().get('/slow', { timeoutMs: 100 }));
    expect(byDeadline).toBeInstanceOf(DeadlineExceededError);
    expect(byDeadline.code).toBe('deadline_exceeded');
    const expired = await failure(client().get('/echo', { deadline: Deadline.after(0) }));
    expect(expired.code).toBe('deadline_exceeded');
  });

  it('reports a refused connection as unavailable and a caller abort as cancelled', async () => {
    const refused = await failure(client({ origin: deadOrigin }).get('/echo'));
    expect(refused).toMatchObject({ code: 'unavailable', reason: 'HTTP_CONNECTION_FAILED', retryable: true });
    const controller = new AbortController();
    const call = client().get('/slow', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect((await failure(call)).code).toBe('cancelled');
  });

  it('retries idempotent methods and keyed requests, never an unkeyed POST', async () => {
    const c = client({ resilience: { retry: { maxAttempts: 3, backoff: constant(5) } } });
    expect((await c.get('/flaky/get')).body).toEqual({ ok: true });
    expect(counts.get('get')).toBe(3);
    expect((await c.post('/flaky/keyed', undefined, { idempotencyKey: 'k-retry' })).body).toEqual({
      ok: true,
    });
    expect(counts.get('keyed')).toBe(3);
    expect((await failure(c.post('/flaky/unkeyed'))).code).toBe('unavailable');
    expect(counts.get('unkeyed')).toBe(1);
  });

  it('opens the circuit after consecutive failures and then fails fast without calling the server', async () => {
    const c = client({
      resilience: { retry: false, circuitBreaker: { strategy: consecutive(2), breakDurationMs: 60_000 } },
    });
    await failure(c.get('/always-down/breaker'));
    await failure(c.get('/always-down/breaker'));
    const fast = await failure(c.get('/always-down/breaker'));
    expect(fast).toBeInstanceOf(CircuitOpenError);
    expect(counts.get('breaker')).toBe(2);
    expect(c.policy.describe().policies?.map((p) => p.kind)).toEqual([
      'bulkhead',
      'circuit-breaker',
      'timeout',
    ]);
  });

  it('composes the resilient client in one option: bulkhead → breaker → retry with budget → timeout', () => {
    const c = client({ resilience: true });
    expect(c.policy.describe().policies?.map((p) => p.kind)).toEqual([
      'bulkhead',
      'circuit-breaker',
      'retry',
      'timeout',
    ]);
    expect(
      client()
        .policy.describe()
        .policies?.map((p) => p.kind),
    ).toEqual(['timeout']);
  });
});
