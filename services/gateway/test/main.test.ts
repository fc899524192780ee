import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startOrderFixture, startProductService, tempDir, until } from './gateway.test-support.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const script = (name: string) => path.join(root, 'services/gateway/src', name);

function run(file: string, env: Record<string, string>): ChildProcess & { out: () => string } {
  let out = '';
  const child = spawn(process.execPath, ['--conditions=sluice-source', '--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout?.on('data', (c) => {
    out += c;
  });
  return Object.assign(child, { out: () => out });
}

describe('gateway main (a real process)', () => {
  const dir = tempDir();
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  it('writes a dev token, stays unready until the subgraphs answer, then serves GraphQL', async () => {
    const [gatewayPort, productPort] = await Promise.all([freePort(), freePort()]);
    const order = await startOrderFixture();
    cleanup.push(() => order.close());
    const child = run(script('main.ts'), {
      PORT: String(gatewayPort),
      SLUICE_DATA_DIR: dir,
      SLUICE_BROKER: `sqlite:${path.join(dir, 'bus.db')}`,
      PRODUCT_URL: `http://127.0.0.1:${productPort}`,
      ORDER_URL: order.url,
    });
    cleanup.push(async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    });
    const url = `http://127.0.0.1:${gatewayPort}`;
    await until(() => fs.existsSync(path.join(dir, 'dev-token')), 60_000, 'the dev token to be written');
    await until(async () => (await fetch(`${url}/healthz`)).ok, 60_000, 'the gateway to listen');
    const token = fs.readFileSync(path.join(dir, 'dev-token'), 'utf8').trim();
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: 'dev', role: 'admin' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(30 * 24 * 3600);
    expect(fs.statSync(path.join(dir, 'jwt-secret')).mode & 0o777).toBe(0o600);

    // The product subgraph is not up: alive, not ready, GraphQL says so.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    const early = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ products { id } }' }),
    });
    expect(early.status).toBe(503);
    expect(((await early.json()) as { reason: string }).reason).toBe('GATEWAY_NOT_COMPOSED');

    // Start it on the expected port: the gateway composes on its next attempt.
    const product = await startProductService(dir, productPort);
    cleanup.push(() => product.stop());
    await until(async () => (await fetch(`${url}/readyz`)).status === 200, 60_000, 'the gateway to compose');
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ product(id: "kettle") { name } }' }),
    });
    expect(await res.json()).toEqual({ data: { product: { name: 'Stovetop Kettle' } } });

    // Restarted, it keeps the secret: the old token still works.
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const again = run(script('main.ts'), {
      PORT: String(gatewayPort),
      SLUICE_DATA_DIR: dir,
      SLUICE_BROKER: `sqlite:${path.join(dir, 'bus.db')}`,
      PRODUCT_URL: product.url,
      ORDER_URL: order.url,
    });
    cleanup.push(async () => {
      if (again.exitCode === null) {
        const done = new Promise((r) => again.once('exit', r));
        again.kill('SIGTERM');
        await done;
      }
    });
    await until(async () => (await fetch(`${url}/healthz`)).ok, 60_000, 'the restarted gateway');
    const products = await fetch(`${url}/api/v1/products`, { headers: { authorization: `Bearer ${token}` } });
    expect(products.status).toBe(200);
  }, 120_000);

  it('issue-dev-token prints a token signed with the secret of SLUICE_JWT_SECRET_FILE (as npm start runs it)', async () => {
    const secretFile = path.join(dir, 'elsewhere', 'secret');
    fs.mkdirSync(path.dirname(secretFile), { recursive: true });
    fs.writeFileSync(secretFile, 'file-secret-0123456789abcdef0123456789\n');
    const child = run(script('issue-dev-token.ts'), {
      SLUICE_DATA_DIR: dir,
      SLUICE_JWT_SECRET_FILE: secretFile,
    });
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
    const token = child.out().trim();
    const { jwtVerify } = await import('jose');
    const { payload } = await jwtVerify(
      token,
      new TextEncoder().encode('file-secret-0123456789abcdef0123456789'),
    );
    expect(payload).toMatchObject({ sub: 'dev', role: 'admin' });
    expect(fs.readFileSync(path.join(dir, 'dev-token'), 'utf8').trim()).toBe(token);
  }, 60_000);
});
