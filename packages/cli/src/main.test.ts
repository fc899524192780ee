import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('sluice command line', () => {
  it('prints help for every command group', async () => {
    for (const args of [
      ['--help'],
      ['order', '--help'],
      ['load', '--help'],
      ['chaos', 'add', '--help'],
      ['dlq', '--help'],
      ['saga', '--help'],
    ]) {
      const r = await run(...args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: sluice/);
    }
  });

  it('refuses malformed flags with a clear message and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['load', '--rate', 'fast'], /--rate.*whole number/],
      [['load', '--duration', '10 minutes'], /--duration.*duration like/],
      [['load', '--mix', 'good=80,evil=20'], /unknown scenario/],
      [['order', 'place', '--customer', 'c1', '--item', 'mug:0'], /quantity must be at least 1/],
      [
        ['chaos', 'add', 'inventory', '--target', 'x', '--kind', 'explode'],
        /Allowed choices are latency, error, hang/,
      ],
      [['order', 'place', '--item', 'mug'], /required option '--customer <id>'/],
      [['frobnicate'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(message);
    }
  });

  it('says what to check when the gateway cannot be reached', async () => {
    const port = await closedPort();
    const r = await run('--url', `http://127.0.0.1:${port}`, 'order', 'get', 'o-1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+ .*is the shop running/);
    expect(r.err).toMatch(/CLI_GATEWAY_UNREACHABLE/);
  });
});
