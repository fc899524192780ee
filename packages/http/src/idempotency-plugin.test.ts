import { Type } from '@fastify/type-provider-typebox';
import { SluiceError } from '@sluice/errors';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listen, raw, waitFor } from './http.test-support.js';
import { createHttpClient } from './http-client.js';
import { createHttpServer, type HttpServer } from './http-server.js';
import { canonicalJson } from './idempotency-plugin.js';
import { createMemoryIdempotencyStore } from './memory-idempotency-store.js';

describe('idempotencyPlugin', () => {
  let app: HttpServer;
  let origin: string;
  let now = 1_700_000_000_000;
  const runs = new Map<string, number>();
  const run = (route: string) => runs.set(route, (runs.get(route) ?? 0) + 1);
  let gate: Promise<void> | undefined;
  let failNext = false;

  const Payment = Type.Object(
    { amount: Type.Integer({ minimum: 1 }), currency: Type.String({ minLength: 3, maxLength: 3 }) },
    { additionalProperties: false },
  );

  beforeAll(async () => {
    app = await createHttpServer({
      idempotency: { store: createMemoryIdempotencyStore(), ttlMs: 60_000, now: () => now },
    });
    app.post(
      '/payments',
      { schema: { body: Payment }, config: { idempotency: true } },
      async (request, reply) => {
        run('payments');
        if (gate) await gate;
        if (failNext) {
          failNext = false;
          throw new SluiceError({ code: 'unavailable', reason: 'TEST_PROCESSOR_DOWN' });
        }
        if (request.body.amount > 10_000)
          throw new SluiceError({
            code: 'failed_precondition',
            reason: 'TEST_LIMIT',
            message: 'over the limit',
          });
        return reply
          .code(201)
          .header('location', `/payments/p-${runs.get('payments')}`)
          .header('x-not-replayed', 'yes')
          .send({ id: `p-${runs.get('payments')}`, ...request.body });
      },
    );
    app.post(
      '/refunds',
      { schema: { body: Payment }, config: { idempotency: true } },
      async (_request, reply) => {
        run('refunds');
        return reply.code(201).send({ id: `r-${runs.get('refunds')}` });
      },
    );
    app.post('/optional', { config: { idempotency: { required: false } } }, async () => {
      run('optional');
      return { n: runs.get('optional') };
    });
    origin = await listen(app);
  });
  afterAll(() => app.close());
  beforeEach(() => {
    runs.clear();
    gate = undefined;
    failNext = false;
  });

  const pay = (key: string, body: unknown, headers: Record<string, string> = {}, path = '/payments') =>
    raw(`${origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key, ...headers },
      body: JSON.stringify(body),
    });

  it('stores the first response and replays status, the headers that matter and the body', async () => {
    const first = await pay('"k-replay"', { amount: 100, currency: 'EUR' });
    const second = await pay('"k-replay"', { currency: 'EUR', amount: 100 }); // same payload, keys reordered
    expect(runs.get('payments')).toBe(1);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.text).toBe(first.text);
    expect(second.headers.location).toBe(first.headers.location);
    expect(second.headers['content-type']).toBe(first.headers['content-type']);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(second.headers['x-not-replayed']).toBeUndefined();
  });

  it('accepts a bare-token key as the same key as its structured-field form', async () => {
    await pay('"k-bare"', { amount: 1, currency: 'EUR' });
    const again = await pay('k-bare', { amount: 1, currency: 'EUR' });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(runs.get('payments')).toBe(1);
  });

  it('rejects the same key with a different payload with 422, running nothing', async () => {
    await pay('"k-mismatch"', { amount: 100, currency: 'EUR' });
    const other = await pay('"k-mismatch"', { amount: 999, currency: 'EUR' });
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ code: 'failed_precondition', reason: 'HTTP_IDEMPOTENCY_KEY_REUSED' });
    expect(runs.get('payments')).toBe(1);
  });

  it('answers 409 while the first request with the key is in flight, then replays it', async () => {
    let open!: () => void;
    gate = new Promise((r) => {
      open = r;
    });
    const first = pay('"k-flight"', { amount: 5, currency: 'EUR' });
    await waitFor(() => runs.get('payments') === 1);
    const during = await pay('"k-flight"', { amount: 5, currency: 'EUR' });
    expect(during.status).toBe(409);
    expect(during.body).toMatchObject({ code: 'aborted', reason: 'HTTP_IDEMPOTENCY_KEY_IN_FLIGHT' });
    open();
    expect((await first).status).toBe(201);
    expect((await pay('"k-flight"', { amount: 5, currency: 'EUR' })).headers['idempotent-replayed']).toBe(
      'true',
    );
    expect(runs.get('payments')).toBe(1);
  });

  it('scopes keys per caller and per route', async () => {
    await pay('"k-scope"', { amount: 1, currency: 'EUR' }, { 'sluice-caller': 'order' });
    await pay('"k-scope"', { amount: 1, currency: 'EUR' }, { 'sluice-caller': 'gateway' });
    await pay('"k-scope"', { amount: 1, currency: 'EUR' }, { 'sluice-caller': 'order' }, '/refunds');
    expect(runs.get('payments')).toBe(2);
    expect(runs.get('refunds')).toBe(1);
  });

  it('replays a 4xx business error, but releases the key after a 5xx so a retry runs again', async () => {
    const refused = await pay('"k-4xx"', { amount: 20_000, currency: 'EUR' });
    const refusedAgain = await pay('"k-4xx"', { amount: 20_000, currency: 'EUR' });
    expect(refused.status).toBe(422);
    expect(refusedAgain.status).toBe(422);
    expect(refusedAgain.headers['idempotent-replayed']).toBe('true');
    expect(runs.get('payments')).toBe(1);

    failNext = true;
    expect((await pay('"k-5xx"', { amount: 7, currency: 'EUR' })).status).toBe(503);
    expect((await pay('"k-5xx"', { amount: 7, currency: 'EUR' })).status).toBe(201);
    expect(runs.get('payments')).toBe(3);
  });

  it('forgets a key after the TTL', async () => {
    await pay('"k-ttl"', { amount: 3, currency: 'EUR' });
    now += 59_999;
    expect((await pay('"k-ttl"', { amount: 4, currency: 'EUR' })).status).toBe(422);
    now += 1;
    expect((await pay('"k-ttl"', { amount: 4, currency: 'EUR' })).status).toBe(201);
    expect(runs.get('payments')).toBe(2);
  });

  it('runs an optional-key route normally without a key', async () => {
    const post = () => raw(`${origin}/optional`, { method: 'POST' });
    await post();
    await post();
    expect(runs.get('optional')).toBe(2);
  });

  it('makes a keyed POST from the Sluice client safe to retry: one payment for one key', async () => {
    const client = createHttpClient({ origin, caller: 'checkout', resilience: true });
    try {
      failNext = true; // the first attempt fails with 503, the retry runs again and succeeds
      const res = await client.post<{ id: string }>(
        '/payments',
        { amount: 42, currency: 'EUR' },
        { idempotencyKey: 'order-77' },
      );
      expect(res.status).toBe(201);
      const again = await client.post<{ id: string }>(
        '/payments',
        { amount: 42, currency: 'EUR' },
        { idempotencyKey: 'order-77' },
      );
      expect(again.body.id).toBe(res.body.id);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(runs.get('payments')).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('fingerprints payloads canonically', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: null }] })).toBe('{"a":[{"c":null,"d":2}],"b":1}');
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
});
