import { Type } from '@fastify/type-provider-typebox';
import { SluiceError } from '@sluice/errors';
import { currentDeadline } from '@sluice/resilience';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, pgSchema, raw } from './http.test-support.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import { createHttpServer, type HttpServer } from './http-server.js';
import { createMemoryIdempotencyStore } from './memory-idempotency-store.js';
import { currentRequestId } from './request-scope.js';

const Order = Type.Object(
  {
    customerId: Type.String({ minLength: 1, maxLength: 64 }),
    items: Type.Array(
      Type.Object(
        { productId: Type.String({ minLength: 1 }), quantity: Type.Integer({ minimum: 1, maximum: 100 }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 50 },
    ),
  },
  { additionalProperties: false },
);

describe('createHttpServer', () => {
  let a: HttpServer;
  let b: HttpServer;
  let originA: string;
  let originB: string;
  let toB: HttpClient;
  let db: Awaited<ReturnType<typeof pgSchema>>;
  let orders = 0;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    db = await pgSchema();
    b = await createHttpServer();
    b.get('/whoami', async (request) => ({
      requestId: request.id,
      caller: request.caller,
      deadlineHeader: Number(request.headers['sluice-deadline-ms']),
    }));
    originB = await listen(b);

    a = await createHttpServer({
      bodyLimitBytes: 4_096,
      maxDeadlineMs: 60_000,
      idempotency: { store: createMemoryIdempotencyStore() },
      openapi: { title: 'Orders', version: '1.2.3' },
    });
    toB = createHttpClient({ origin: originB, caller: 'server-a' });
    a.get('/budget', async (request) => {
      // The handler sees its budget on the request and as the current deadline,
      // and an outgoing call inherits both the deadline and the request id.
      const downstream = await toB.get<{ requestId: string; caller: string; deadlineHeader: number }>(
        '/whoami',
      );
      return {
        requestId: request.id,
        scopeRequestId: currentRequestId(),
        remainingMs: request.deadline?.remaining(),
        currentMs: currentDeadline()?.remaining(),
        downstream: downstream.body,
      };
    });
    a.post(
      '/orders',
      {
        schema: { body: Order, response: { 201: Type.Object({ id: Type.String() }) } },
        config: { idempotency: true },
      },
      async (request, reply) => {
        orders++;
        return reply.code(201).send({ id: `o-${orders}-${request.body.customerId}` });
      },
    );
    a.post(
      '/budget-after-body',
      { schema: { body: Type.Object({ x: Type.Number() }) } },
      async (request) => ({
        currentMs: currentDeadline()?.remaining(),
        requestId: currentRequestId(),
        x: request.body.x,
      }),
    );
    a.get('/boom', async () => {
      throw new Error('secret database password in this message');
    });
    a.get('/busy', async () => {
      throw new SluiceError({ code: 'resource_exhausted', reason: 'TEST_BUSY', retryAfterMs: 1_500 });
    });
    a.readiness.add('postgres', () => db.pool.query('select 1'));
    originA = await listen(a);
  });

  afterAll(async () => {
    await toB.close();
    await a.close();
    await b.close();
    await db.dispose();
  });

  it('echoes a valid x-request-id and replaces a missing or unsafe one', async () => {
    const given = await raw(`${originA}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const none = await raw(`${originA}/healthz`);
    expect(none.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await raw(`${originA}/healthz`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reads the deadline header into request.deadline and the current deadline, and passes it downstream', async () => {
    const res = await raw(`${originA}/budget`, {
      headers: { 'sluice-deadline-ms': '4000', 'x-request-id': 'req-budget' },
    });
    expect(res.status).toBe(200);
    const body = res.body as {
      requestId: string;
      scopeRequestId: string;
      remainingMs: number;
      currentMs: number;
      downstream: { requestId: string; caller: string; deadlineHeader: number };
    };
    expect(body.remainingMs).toBeGreaterThan(0);
    expect(body.remainingMs).toBeLessThanOrEqual(4_000);
    expect(body.currentMs).toBeLessThanOrEqual(4_000);
    expect(body.scopeRequestId).toBe('req-budget');
    expect(body.downstream.requestId).toBe('req-budget');
    expect(body.downstream.caller).toBe('server-a');
    // B got what was left of A's budget, minus the client's overhead.
    expect(body.downstream.deadlineHeader).toBeGreaterThan(0);
    expect(body.downstream.deadlineHeader).toBeLessThanOrEqual(3_995);
  });

  it('keeps the deadline and request id current after the body is parsed', async () => {
    const res = await raw(`${originA}/budget-after-body`, {
      method: 'POST',
      headers: { ...json, 'sluice-deadline-ms': '2000', 'x-request-id': 'req-body' },
      body: JSON.stringify({ x: 1 }),
    });
    expect(res.body).toMatchObject({ requestId: 'req-body', x: 1 });
    expect((res.body as { currentMs: number }).currentMs).toBeLessThanOrEqual(2_000);
  });

  it('with asyncContext: false still sets request.deadline but makes nothing current', async () => {
    const plain = await createHttpServer({ asyncContext: false, openapi: false });
    plain.get('/', async (request) => ({
      remainingMs: request.deadline?.remaining(),
      current: currentDeadline() === undefined && currentRequestId() === undefined,
    }));
    try {
      const res = await raw(await listen(plain), { headers: { 'sluice-deadline-ms': '3000' } });
      expect((res.body as { remainingMs: number }).remainingMs).toBeLessThanOrEqual(3_000);
      expect(res.body).toMatchObject({ current: true });
    } finally {
      await plain.close();
    }
  });

  it('clamps a deadline above maxDeadlineMs', async () => {
    const res = await raw(`${originA}/budget`, { headers: { 'sluice-deadline-ms': '999999999' } });
    expect((res.body as { remainingMs: number }).remainingMs).toBeLessThanOrEqual(60_000);
  });

  it('rejects a malformed deadline with 400 and an expired one with 504, before any work', async () => {
    const bad = await raw(`${originA}/budget`, { headers: { 'sluice-deadline-ms': '1.5s' } });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(bad.body).toMatchObject({
      code: 'invalid_argument',
      reason: 'HTTP_INVALID_DEADLINE',
      errors: [{ field: 'headers.sluice-deadline-ms' }],
    });
    const expired = await raw(`${originA}/budget`, { headers: { 'sluice-deadline-ms': '0' } });
    expect(expired.status).toBe(504);
    expect(expired.body).toMatchObject({ code: 'deadline_exceeded', reason: 'RESILIENCE_DEADLINE_EXCEEDED' });
  });

  describe('bad input: a clear 4xx problem+json with field detail, nothing written, the server keeps serving', () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      raw(`${originA}/orders`, {
        method: 'POST',
        headers: { ...json, 'idempotency-key': `"k-${Math.random()}"`, ...headers },
        body,
      });

    it('malformed JSON', async () => {
      const before = orders;
      const res = await post('{"customerId": "c-1", "items": [');
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body).toMatchObject({
        type: 'urn:sluice:problem:HTTP_MALFORMED_BODY',
        status: 400,
        code: 'invalid_argument',
        reason: 'HTTP_MALFORMED_BODY',
        errors: [{ field: 'body' }],
      });
      expect(orders).toBe(before);
    });

    it('wrong types, missing and unknown fields, all listed', async () => {
      const res = await post(
        JSON.stringify({ items: [{ productId: 'p-1', quantity: '2', colour: 'red' }], coupon: 'X' }),
      );
      expect(res.status).toBe(400);
      const problem = res.body as { reason: string; errors: { field: string; message: string }[] };
      expect(problem.reason).toBe('HTTP_INVALID_REQUEST');
      const fields = problem.errors.map((e) => e.field);
      expect(fields).toEqual(
        expect.arrayContaining([
          'body.customerId',
          'body.coupon',
          'body.items.0.quantity',
          'body.items.0.colour',
        ]),
      );
      expect(problem.errors.find((e) => e.field === 'body.coupon')?.message).toBe('is not a known field');
      expect(problem.errors.find((e) => e.field === 'body.customerId')?.message).toBe('is required');
    });

    it('an oversized body is a 413', async () => {
      const res = await post(JSON.stringify({ customerId: 'x'.repeat(10_000), items: [] }));
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({
        code: 'invalid_argument',
        reason: 'HTTP_BODY_TOO_LARGE',
        status: 413,
      });
    });

    it('an unsupported media type is a 415, prototype poisoning a 400', async () => {
      const xml = await post('<order/>', { 'content-type': 'application/xml' });
      expect(xml.status).toBe(415);
      expect(xml.body).toMatchObject({ reason: 'HTTP_UNSUPPORTED_MEDIA_TYPE' });
      const poisoned = await post(
        '{"customerId":"c","items":[{"productId":"p","quantity":1}],"__proto__":{"x":1}}',
      );
      expect(poisoned.status).toBe(400);
      expect(poisoned.body).toMatchObject({ reason: 'HTTP_MALFORMED_BODY' });
    });

    it('a missing or invalid idempotency key on a route that requires one', async () => {
      const res = await raw(`${originA}/orders`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ customerId: 'c-1', items: [{ productId: 'p', quantity: 1 }] }),
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        reason: 'HTTP_IDEMPOTENCY_KEY_MISSING',
        errors: [{ field: 'headers.idempotency-key', message: 'is required' }],
      });
      const invalid = await post(
        JSON.stringify({ customerId: 'c-1', items: [{ productId: 'p', quantity: 1 }] }),
        {
          'idempotency-key': '""',
        },
      );
      expect(invalid.body).toMatchObject({ reason: 'HTTP_IDEMPOTENCY_KEY_INVALID' });
    });

    it('then serves the next valid request', async () => {
      const before = orders;
      const res = await post(JSON.stringify({ customerId: 'c-9', items: [{ productId: 'p', quantity: 1 }] }));
      expect(res.status).toBe(201);
      expect(orders).toBe(before + 1);
    });
  });

  it('answers unknown routes with 404 problem+json', async () => {
    const res = await raw(`${originA}/nope`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'not_found', reason: 'HTTP_ROUTE_NOT_FOUND', instance: '/nope' });
  });

  it('hides unexpected errors behind a 500 and sends Retry-After for retryable ones', async () => {
    const boom = await raw(`${originA}/boom`, { headers: { 'x-request-id': 'req-boom' } });
    expect(boom.status).toBe(500);
    expect(boom.text).not.toContain('secret');
    expect(boom.body).toMatchObject({ code: 'internal', detail: 'internal error', requestId: 'req-boom' });
    const busy = await raw(`${originA}/busy`);
    expect(busy.status).toBe(429);
    expect(busy.headers['retry-after']).toBe('2');
    expect(busy.body).toMatchObject({ code: 'resource_exhausted', reason: 'TEST_BUSY', retryAfterMs: 1_500 });
  });

  it('answers /healthz always and /readyz when every dependency answers', async () => {
    expect((await raw(`${originA}/healthz`)).body).toEqual({ status: 'ok' });
    const ready = await raw(`${originA}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', checks: { postgres: { ok: true } } });

    const remove = a.readiness.add('inventory', async () => {
      const down = createHttpClient({ origin: 'http://127.0.0.1:9', timeoutMs: 1_000 });
      try {
        await down.get('/healthz');
      } finally {
        await down.close();
      }
    });
    const notReady = await raw(`${originA}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ code: 'unavailable', reason: 'HTTP_NOT_READY' });
    expect((notReady.body as { metadata: Record<string, string> }).metadata['check.inventory']).toBeDefined();
    expect(
      (notReady.body as { metadata: Record<string, string> }).metadata['check.postgres'],
    ).toBeUndefined();
    remove();
    expect((await raw(`${originA}/readyz`)).status).toBe(200);
  });

  it('serves an OpenAPI document generated from the route schemas at /openapi.json', async () => {
    const res = await raw(`${originA}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = res.body as {
      openapi: string;
      info: { title: string; version: string };
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Orders', version: '1.2.3' });
    const schema = doc.paths['/orders']?.post?.requestBody?.content['application/json']?.schema as {
      required: string[];
      additionalProperties: boolean;
    };
    expect(schema.required).toEqual(['customerId', 'items']);
    expect(schema.additionalProperties).toBe(false);
    expect(doc.paths['/healthz']).toBeUndefined();
    const post = doc.paths['/orders']?.post as {
      parameters?: { in: string; name: string; required: boolean }[];
    };
    const parameters = post?.parameters;
    expect(parameters).toContainEqual(
      expect.objectContaining({ in: 'header', name: 'idempotency-key', required: true }),
    );
  });
});
