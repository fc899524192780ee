import { afterEach, describe, expect, it } from 'vitest';
import { listen, raw, waitFor } from './http.test-support.js';
import { createHttpServer, type HttpServer } from './http-server.js';

describe('gracefulShutdown', () => {
  let app: HttpServer | undefined;
  afterEach(async () => {
    app?.server.closeAllConnections();
    await app?.close();
  });

  it('stops accepting, turns /readyz to 503, and lets a slow in-flight request finish', async () => {
    app = await createHttpServer({ shutdown: { timeoutMs: 30_000 } });
    let entered = false;
    let finish!: () => void;
    const release = new Promise<void>((r) => {
      finish = r;
    });
    app.get('/slow', async () => {
      entered = true;
      await release;
      return { done: true };
    });
    const origin = await listen(app);
    expect((await raw(`${origin}/readyz`)).status).toBe(200);

    const inFlight = raw(`${origin}/slow`);
    await waitFor(() => entered);
    let closed = false;
    const shutdown = app.shutdown().then(() => {
      closed = true;
    });
    expect(app.readiness.draining).toBe(true);

    // New connections are refused once the listener is closed.
    await waitFor(async () => {
      try {
        await raw(`${origin}/healthz`);
        return false;
      } catch (error) {
        return (error as { code?: string }).code === 'ECONNREFUSED';
      }
    });
    expect(closed).toBe(false); // still draining: the slow request holds it open

    finish();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ done: true });
    await shutdown;
    expect(closed).toBe(true);
    app = undefined;
  });

  it('answers /readyz with 503 while draining', async () => {
    app = await createHttpServer({ shutdown: { drainDelayMs: 60_000 } });
    const origin = await listen(app);
    void app.shutdown();
    const res = await raw(`${origin}/readyz`);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      code: 'unavailable',
      reason: 'HTTP_NOT_READY',
      detail: 'shutting down',
    });
    expect((await raw(`${origin}/healthz`)).status).toBe(200);
  });
});
