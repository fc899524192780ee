import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../conformance/conformance-helpers.js';
import { createTransport, parseEmbeddedUrl } from '../create-transport.js';
import type { Delivery, Transport } from '../transport.js';
import { tempEmbedded } from './temp-transport.test-support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..', '..');
const text = (s: string) => ({ id: s, body: new TextEncoder().encode(s) });

describe('embedded transport', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const env = async (query = '') => {
    const e = await tempEmbedded(query);
    cleanups.push(e.dispose);
    return e;
  };
  const open = async (url: string): Promise<Transport> => {
    const t = await createTransport(url);
    cleanups.push(() => t.close());
    return t;
  };

  it('is woken by the doorbell of a publish in another process, not by polling', async () => {
    const { url } = await env();
    // Polls every minute at most: only the doorbell can deliver within the test's wait.
    const t = await createTransport(url, { embedded: { minPollMs: 60_000, maxPollMs: 60_000 } });
    cleanups.push(() => t.close());
    const got: string[] = [];
    await t.consume('bell', 'g', async (d) => {
      got.push(d.id);
      await d.ack();
    });
    const child = spawn(
      process.execPath,
      [
        '--conditions=sluice-source',
        '--import',
        'tsx',
        path.join(here, 'publisher-child.ts'),
        url,
        'bell',
        'from-child',
      ],
      { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += String(c);
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code, stderr).toBe(0);
    await waitFor('the doorbell delivery', () => got.length === 1, 20_000);
    expect(got).toEqual(['from-child']);
  });

  it('shares one file between processes: competing children, one SIGKILLed, every message acknowledged exactly once', async () => {
    const { url } = await env();
    const t = await open(url);
    await t.declareGroup('multi', 'g');
    const children = [0, 1].map(() => {
      const child = spawn(
        process.execPath,
        [
          '--conditions=sluice-source',
          '--import',
          'tsx',
          path.join(here, 'ack-child.ts'),
          url,
          'multi',
          'g',
          '1000',
        ],
        { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const lines: Array<{ id?: string; ready?: boolean }> = [];
      let buf = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (c: string) => {
        buf += c;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          lines.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      });
      cleanups.push(async () => {
        child.kill('SIGKILL');
      });
      return { child, lines };
    });
    await waitFor('both children ready', () => children.every((c) => c.lines.some((l) => l.ready)), 30_000);
    const ids = Array.from({ length: 300 }, (_, i) => `m-${i}`);
    for (let i = 0; i < ids.length; i += 25) await t.publish('multi', ids.slice(i, i + 25).map(text));
    const acked = () =>
      children.flatMap((c) => c.lines.filter((l) => l.id !== undefined).map((l) => l.id as string));
    await waitFor('a third acknowledged', () => acked().length >= 100);
    (children[0] as { child: { kill(s: string): void } }).child.kill('SIGKILL');
    // Done when the file holds nothing: rows leave only by a committed ack.
    await waitFor('every message acknowledged', async () => {
      const [s] = await t.stats('multi');
      return s?.pending === 0 && s.inFlight === 0;
    });
    expect(await t.deadLetters.count()).toBe(0);
    const printed = acked();
    // Printed after a committed ack: a second print would be a message acknowledged twice. The
    // killed child may have died between its commit and its print (at most its prefetch of 8).
    expect(new Set(printed).size).toBe(printed.length);
    expect(printed.length).toBeGreaterThanOrEqual(ids.length - 8);
    expect(printed.every((id) => ids.includes(id))).toBe(true);
  });

  it('releases an ordering key when its head is dead-lettered', async () => {
    const { transport: t } = await env();
    const got: string[] = [];
    await t.consume('keys', 'g', async (d) => {
      got.push(d.id);
      if (d.id === 'a-1') await d.deadLetter({ error: 'poison', reason: 'TEST_POISON' });
      else await d.ack();
    });
    await t.publish('keys', [
      { ...text('a-1'), orderingKey: 'a' },
      { ...text('a-2'), orderingKey: 'a' },
    ]);
    await waitFor('both', () => got.length === 2);
    expect(got).toEqual(['a-1', 'a-2']);
  });

  it('gives back, at once, a delivery whose handler outlives the stop timeout', async () => {
    const { url } = await env();
    const a = await open(url);
    const b = await open(url);
    const got: Array<[string, number]> = [];
    let taken!: () => void;
    const tookIt = new Promise<void>((r) => {
      taken = r;
    });
    const hang = await a.consume(
      'stop',
      'g',
      async () => {
        taken();
        await new Promise(() => {});
      },
      { leaseMs: 600_000 },
    );
    await a.publish('stop', [text('s-1')]);
    await tookIt;
    await hang.stop(100);
    await b.consume('stop', 'g', async (d: Delivery) => {
      got.push([d.id, d.attempt]);
      await d.ack();
    });
    // The lease was ten minutes: only the give-back makes this arrive in time.
    await waitFor('the given-back delivery', () => got.length === 1);
    expect(got).toEqual([['s-1', 2]]);
  });

  it('prunes doorbell registrations of processes that no longer exist', async () => {
    const { url } = await env();
    const file = parseEmbeddedUrl(url).path;
    const t = await open(url);
    await t.declareGroup('x', 'g');
    const db = new Database(file);
    // A pid far above any real one on Linux (pid_max is at most 2^22).
    db.prepare('INSERT INTO sluice_doorbells (topic, port, pid) VALUES (?, ?, ?)').run('x', 1, 2 ** 22 + 17);
    const c = await open(url);
    await c.consume('x', 'g', async (d) => d.ack());
    const rows = db.prepare('SELECT pid FROM sluice_doorbells').all() as Array<{ pid: number }>;
    db.close();
    expect(rows.map((r) => r.pid)).toEqual([process.pid]);
  });

  it('reads options from URL parameters and refuses unknown or malformed ones', async () => {
    const { dir } = await env();
    const full = await open(`sqlite:${path.join(dir, 'full.db')}?synchronous=full&maxMessageBytes=70000`);
    expect(full.capabilities.maxMessageBytes).toBe(70_000);
    for (const q of ['?synchronous=sometimes', '?nope=1', '?maxMessageBytes=-1', '?doorbell=maybe'])
      await expect(createTransport(`sqlite:${path.join(dir, 'x.db')}${q}`)).rejects.toMatchObject({
        code: 'invalid_argument',
        reason: 'MESSAGING_INVALID_URL',
      });
  });

  it('refuses a file that is not a SQLite database with unavailable, leaving it untouched', async () => {
    const { dir } = await env();
    const file = path.join(dir, 'not-a-db.txt');
    writeFileSync(file, 'hello, this is not SQLite '.repeat(100));
    await expect(createTransport(`sqlite:${file}`)).rejects.toMatchObject({
      code: 'unavailable',
      reason: 'MESSAGING_TRANSPORT_UNAVAILABLE',
    });
    expect(readFileSync(file, 'utf8').startsWith('hello, this is not SQLite')).toBe(true);
  });

  it('refuses bad consume options and DLQ filters with invalid_argument', async () => {
    const { transport: t } = await env();
    await expect(t.consume('t', 'g', async () => {}, { prefetch: 0 })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(t.consume('t', 'g', async () => {}, { leaseMs: 1.5 })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(t.deadLetters.list({ limit: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(t.deadLetters.count({ ids: [1 as never] })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });
});
