// TLS / mutual TLS with certificates made in the test, and a client that
// survives its server being SIGKILLed and restarted on the same port.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindService,
  createGrpcChannel,
  createGrpcClient,
  createGrpcServer,
  type GrpcServer,
} from './index.js';
import { makeCerts, type TestCerts } from './testing/certs.test-support.js';
import { waitFor } from './testing/pushable.test-support.js';
import { sluiceTestImpl, TestService } from './testing/test-service.test-support.js';

describe('mutual TLS', () => {
  let certs: TestCerts;
  let server: GrpcServer;
  let port: number;
  beforeAll(async () => {
    certs = makeCerts();
    server = createGrpcServer({
      services: [bindService(TestService, sluiceTestImpl)],
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
    });
    port = await server.listen('127.0.0.1:0');
  });
  afterAll(() => server.shutdown(1000));

  const call = (tls: Parameters<typeof createGrpcChannel>[0]['tls'], address = `localhost:${port}`) => {
    const channel = createGrpcChannel({ address, ...(tls ? { tls } : {}) });
    return createGrpcClient(TestService, channel)
      .emptyCall({}, { timeoutMs: 5_000 })
      .finally(() => channel.close());
  };

  it('serves a client with a certificate signed by the trusted CA', async () => {
    await expect(call({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })).resolves.toBeDefined();
  });

  it('refuses a client without a certificate', async () => {
    await expect(call({ ca: certs.ca })).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('refuses a client whose certificate another CA signed', async () => {
    await expect(call({ ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey })).rejects.toMatchObject({
      code: 'unavailable',
    });
  });

  it('refuses a plaintext client', async () => {
    await expect(call(undefined)).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('a client that does not trust the server’s CA refuses the server', async () => {
    const other = makeCerts();
    await expect(call({ ca: other.ca, cert: certs.clientCert, key: certs.clientKey })).rejects.toMatchObject({
      code: 'unavailable',
    });
  });

  it('serves TLS without client certificates when the server does not ask for them', async () => {
    const plainTls = createGrpcServer({
      services: [bindService(TestService, sluiceTestImpl)],
      tls: { cert: certs.serverCert, key: certs.serverKey },
    });
    const p = await plainTls.listen('127.0.0.1:0');
    try {
      await expect(call({ ca: certs.ca }, `127.0.0.1:${p}`)).resolves.toBeDefined();
    } finally {
      await plainTls.shutdown(1000);
    }
  });
});

describe('recovery', () => {
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing', 'child-server.ts');
  const running: ChildProcess[] = [];
  afterAll(() => {
    for (const p of running) if (p.exitCode === null) p.kill('SIGKILL');
  });

  function start(port: number, ...extra: string[]): Promise<ChildProcess> {
    const args = ['--conditions=sluice-source', '--import', 'tsx', child, String(port), ...extra];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    running.push(proc);
    return new Promise((resolve, reject) => {
      proc.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) resolve(proc);
      });
      proc.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
  }

  async function freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { port } = s.address() as net.AddressInfo;
    await new Promise((r) => s.close(r));
    return port;
  }

  it('the same client object recovers after the server process is SIGKILLed and restarted on the same port', async () => {
    const port = await freePort();
    let proc = await start(port);
    const channel = createGrpcChannel({ address: `127.0.0.1:${port}` });
    const client = createGrpcClient(TestService, channel);
    try {
      await client.emptyCall({}, { timeoutMs: 5_000 });
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
      await expect(client.emptyCall({}, { timeoutMs: 2_000 })).rejects.toMatchObject({ code: 'unavailable' });
      proc = await start(port);
      await waitFor(() =>
        client.emptyCall({}, { timeoutMs: 2_000 }).then(
          () => true,
          () => false,
        ),
      );
      const res = await client.unaryCall({ responseSize: 3 }, { timeoutMs: 5_000 });
      expect(res.payload.length).toBe(3);
    } finally {
      channel.close();
      proc.kill('SIGKILL');
    }
  });

  it('keepalive notices a frozen server: a call with no deadline fails UNAVAILABLE instead of hanging', async () => {
    const port = await freePort();
    const proc = await start(port, '100');
    const channel = createGrpcChannel({
      address: `127.0.0.1:${port}`,
      keepalive: { timeMs: 300, timeoutMs: 1_000 },
    });
    const client = createGrpcClient(TestService, channel);
    try {
      await client.emptyCall({});
      // Idle across several PINGs: the server accepts them and the connection stays usable.
      await new Promise((r) => setTimeout(r, 1_500));
      await client.emptyCall({});
      proc.kill('SIGSTOP'); // alive but silent, as behind a dead NAT entry
      // Without keepalive this call would wait forever (no deadline); the test's timeout bounds it.
      await expect(client.unaryCall({ sleepMs: 0 })).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      channel.close();
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
    }
  });
});
