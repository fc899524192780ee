import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { request } from 'undici';

/** Listens on an ephemeral loopback port; returns the origin. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** The shared local PostgreSQL (trust auth). */
export const PG_URL = process.env.SLUICE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A pool and a fresh schema named for this package plus a random suffix, dropped by `dispose`. */
export async function pgSchema(): Promise<{ pool: pg.Pool; schema: string; dispose: () => Promise<void> }> {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
  const schema = `sluice_http_${Math.random().toString(36).slice(2, 10)}`;
  await pool.query(`CREATE SCHEMA "${schema}"`);
  return {
    pool,
    schema,
    dispose: async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

/** A raw request through undici (no Sluice client), body parsed as JSON when it is. */
export async function raw(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
}> {
  const res = await request(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers ?? {},
    body: init.body ?? null,
  });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.statusCode, headers: res.headers, body, text };
}

/** Polls `condition` every 10 ms until true, for at most `timeoutMs` (a bounded wait, not a timing assertion). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
