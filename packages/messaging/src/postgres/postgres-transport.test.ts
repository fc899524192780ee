import fc from 'fast-check';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ConsumerChild,
  gate,
  rejectionOf,
  spawnConsumerChild,
  textMessage,
  waitFor,
} from '../conformance/conformance-helpers.js';
import { createTransport } from '../create-transport.js';
import type { Delivery, Transport } from '../transport.js';
import { parsePostgresUrl } from './postgres-options.js';
import { createPostgresTransport } from './postgres-transport.js';
import { pgTestSchemas, TEST_PG_URL } from './temp-pg-schema.test-support.js';

// Integration tests of what the conformance suite does not see: LISTEN/NOTIFY
// across connections, the listener's reconnection, ordering-key heads under
// publish/settle races, keyed replay, schema creation races, bad options.

const opened: Transport[] = [];
const schemas = pgTestSchemas();
const children: ConsumerChild[] = [];

/** A fresh schema for this test (dropped after the file); `query` adds URL parameters. Returns its URL. */
const schemaUrl = (query = ''): Promise<string> => schemas.url(query);

async function open(url: string): Promise<Transport> {
  const t = await createTransport(url);
  opened.push(t);
  return t;
}

async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: TEST_PG_URL });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

afterEach(async () => {
  for (const c of children.splice(0)) c.kill();
  await Promise.allSettled(opened.splice(0).map((t) => t.close()));
});

describe('parsePostgresUrl', () => {
  it("takes the transport's own parameters out of the connection string and leaves the rest", () => {
    expect(
      parsePostgresUrl(
        'postgres://u:p@db:5433/shop?schema=shop_bus&sslmode=disable&poolSize=7&maxMessageBytes=2048&pollMs=250&listen=false&asyncSettles=true',
      ),
    ).toEqual({
      asyncSettles: true,
      connectionString: 'postgres://u:p@db:5433/shop?sslmode=disable',
      schema: 'shop_bus',
      poolSize: 7,
      maxMessageBytes: 2048,
      pollMs: 250,
      listen: false,
    });
    expect(parsePostgresUrl('postgresql://127.0.0.1/test')).toEqual({
      connectionString: 'postgresql://127.0.0.1/test',
    });
  });

  it('refuses malformed parameters with MESSAGING_INVALID_URL', () => {
    for (const bad of [
      'poolSize=0',
      'poolSize=x',
      'pollMs=1.5',
      'listen=yes',
      'maxMessageBytes=-1',
      'asyncSettles=1',
    ])
      expect(() => parsePostgresUrl(`postgres://h/db?${bad}`), bad).toThrow(
        expect.objectContaining({ code: 'invalid_argument', reason: 'MESSAGING_INVALID_URL' }),
      );
  });

  it('accepts any numbers the options accept and refuses every schema name that is not a plain identifier', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 70 }).filter((s) => !/^[a-z_][a-z0-9_]{0,62}$/.test(s)),
        async (schema) => {
          const e = await rejectionOf(createPostgresTransport({ connectionString: TEST_PG_URL, schema }));
          expect([e.code, e.reason]).toEqual(['invalid_argument', 'MESSAGING_INVALID_URL']);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('PostgreSQL transport', () => {
  it('fails with MESSAGING_TRANSPORT_UNAVAILABLE when the database cannot be reached', async () => {
    const e = await rejectionOf(createTransport('postgres://postgres@127.0.0.1:1/test?schema=nowhere'));
    expect([e.code, e.reason]).toEqual(['unavailable', 'MESSAGING_TRANSPORT_UNAVAILABLE']);
  });

  it('creates its tables once when several processes start on a fresh schema at once', async () => {
    const url = await schemaUrl();
    const all = await Promise.all([open(url), open(url), open(url), open(url)]);
    await (all[0] as Transport).publish('t', [textMessage('x')]);
    const rows = await sql<{ value: string }>(
      `SELECT value FROM "${new URL(url).searchParams.get('schema')}".meta WHERE key = 'schema_version'`,
    );
    expect(rows).toEqual([{ value: '1' }]);
  });

  it('wakes a consumer on another connection by NOTIFY at commit, not by polling', async () => {
    // A 10-minute fallback poll: only the NOTIFY can deliver within the test.
    const url = await schemaUrl('pollMs=600000');
    const consumerSide = await open(url);
    const publisherSide = await open(url);
    const got: string[] = [];
    await consumerSide.consume('wake', 'g', async (d) => {
      got.push(d.id);
      await d.ack();
    });
    // Let the consumer find the group empty and go to sleep.
    await waitFor('the consumer to be idle', async () => (await consumerSide.stats('wake')).length === 1);
    for (let i = 1; i <= 3; i++) {
      await publisherSide.publish('wake', [textMessage(`n-${i}`)]);
      await waitFor(`delivery ${i}`, () => got.length === i);
    }
    expect(got).toEqual(['n-1', 'n-2', 'n-3']);
  });

  it('reconnects its LISTEN connection after the server drops it, and picks up what was published meanwhile', async () => {
    const url = await schemaUrl('pollMs=600000');
    const schema = new URL(url).searchParams.get('schema') as string;
    const consumerSide = await open(url);
    const publisherSide = await open(`${url}&listen=false`);
    const got: string[] = [];
    await consumerSide.consume('reconnect', 'g', async (d) => {
      got.push(d.id);
      await d.ack();
    });
    const listenerPid = async () =>
      (
        await sql<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query ILIKE $2',
          [`sluice-listen:${schema}`, 'LISTEN%'],
        )
      )[0]?.pid;
    const before = await waitFor('the listener', listenerPid);
    await sql('SELECT pg_terminate_backend($1)', [before]);
    // Published while the listener is down: its NOTIFY is lost; the reconnection looks for work.
    await publisherSide.publish('reconnect', [textMessage('during')]);
    await waitFor('a new listener', async () => {
      const pid = await listenerPid();
      return pid !== undefined && pid !== before;
    });
    await waitFor('the message published during the outage', () => got.includes('during'));
    await publisherSide.publish('reconnect', [textMessage('after')]);
    await waitFor('the message published after reconnecting', () => got.includes('after'));
    expect(got).toEqual(['during', 'after']);
  });

  it('refuses bad consumer options and handlers with invalid_argument, starting nothing', async () => {
    const t = await open(await schemaUrl());
    for (const options of [{ prefetch: 0 }, { prefetch: 1.5 }, { leaseMs: -1 }, { leaseMs: Number.NaN }]) {
      const e = await rejectionOf(t.consume('opts', 'g', async () => {}, options));
      expect([e.code, e.reason]).toEqual(['invalid_argument', 'MESSAGING_INVALID_MESSAGE']);
    }
    expect((await rejectionOf(t.consume('opts', 'g', 'nope' as never))).code).toBe('invalid_argument');
    expect((await rejectionOf(t.consume('bad topic', 'g', async () => {}))).code).toBe('invalid_argument');
    // Refused before anything happened: not even the group was declared.
    expect(await t.stats('opts')).toEqual([]);
  });

  it('keeps serving after the server drops every one of its pooled connections', async () => {
    const url = await schemaUrl();
    const schema = new URL(url).searchParams.get('schema') as string;
    const consumerSide = await open(url);
    const publisherSide = await open(`${url}&listen=false`);
    const got: string[] = [];
    await consumerSide.consume('drop', 'g', async (d) => {
      got.push(d.id);
      await d.ack();
    });
    await publisherSide.publish('drop', [textMessage('before')]);
    await waitFor('the first message', () => got.includes('before'));
    const killed = await sql<{ pid: number }>(
      `SELECT pg_terminate_backend(pid) AS ok, pid FROM pg_stat_activity
       WHERE application_name = $1 AND pid <> pg_backend_pid()`,
      [`sluice-bus:${schema}`],
    );
    expect(killed.length).toBeGreaterThan(0);
    // Both sides lost their pools: the publish and the claims reconnect.
    await waitFor('a publish to go through again', () =>
      publisherSide.publish('drop', [textMessage('after')]).then(
        () => true,
        () => false,
      ),
    );
    await waitFor('the message published after the outage', () => got.includes('after'));
    expect(got.filter((id) => id === 'after')).toHaveLength(1);
  });

  it("holds a SIGKILLed consumer's keyed message and its key's followers until the lease lapses, then delivers them in order", async () => {
    const url = await schemaUrl();
    const t = await open(url);
    await t.declareGroup('kcrash', 'g');
    const child = spawnConsumerChild(url, 'kcrash', 'g', 1_500);
    children.push(child);
    await waitFor('the child to be ready', () => child.lines.some((l) => l.ready === true), 30_000);
    await t.publish('kcrash', [
      textMessage('K-0', { orderingKey: 'K' }),
      textMessage('K-1', { orderingKey: 'K' }),
      textMessage('free'),
    ]);
    await waitFor('the child to take K-0', () => child.lines.some((l) => l.id === 'K-0'));
    child.kill();
    await waitFor('the child to die', () => child.process.signalCode !== null);
    const got: string[] = [];
    await t.consume(
      'kcrash',
      'g',
      async (d) => {
        got.push(`${d.id}#${d.attempt}`);
        await d.ack();
      },
      { leaseMs: 1_000 },
    );
    await waitFor('three deliveries', () => got.length >= 3);
    expect(got.filter((g) => g.startsWith('K-'))).toEqual(['K-0#2', 'K-1#1']);
    expect(got).toContain('free#1');
  });

  it('refuses NUL characters in ids, ordering keys and headers, sending nothing', async () => {
    const t = await open(await schemaUrl());
    await t.declareGroup('nul', 'g');
    for (const bad of [
      textMessage('a\u0000b'),
      textMessage('k', { orderingKey: 'x\u0000' }),
      textMessage('h', { headers: { h: 'v\u0000' } }),
    ]) {
      const e = await rejectionOf(t.publish('nul', [textMessage('fine'), bad]));
      expect([e.code, e.reason]).toEqual(['invalid_argument', 'MESSAGING_INVALID_MESSAGE']);
    }
    expect((await t.stats('nul'))[0]?.pending).toBe(0);
  });

  it("never strands a key's next message when it is published while its head is being acknowledged", async () => {
    const url = await schemaUrl('pollMs=600000');
    const a = await open(url);
    const b = await open(url);
    await a.declareGroup('chain', 'g');
    const rounds = 30;
    const handled: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    // Each handler acknowledges its message and, in the same tick, publishes the
    // key's next one: the ack (settle lane) and the publish (publish lane) race.
    const handler = (t: Transport) => async (d: Delivery) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      handled.push(d.id);
      const i = Number(d.id.slice(2));
      inFlight--;
      await Promise.all([
        d.ack(),
        i + 1 < rounds ? t.publish('chain', [textMessage(`K-${i + 1}`, { orderingKey: 'K' })]) : undefined,
      ]);
    };
    await a.consume('chain', 'g', handler(a), { prefetch: 4 });
    await b.consume('chain', 'g', handler(b), { prefetch: 4 });
    await a.publish('chain', [textMessage('K-0', { orderingKey: 'K' })]);
    await waitFor('the whole chain', () => handled.length >= rounds);
    expect(handled).toEqual(Array.from({ length: rounds }, (_, i) => `K-${i}`));
    expect(maxInFlight).toBe(1);
  });

  it('replays a keyed dead letter behind the unsettled messages of its key', async () => {
    const t = await open(await schemaUrl());
    const order: string[] = [];
    const replayed = gate();
    await t.consume(
      'kdl',
      'g',
      async (d) => {
        order.push(`${d.id}#${d.attempt}`);
        if (d.id === 'A-0' && order.length === 1) await d.deadLetter({ error: 'boom', reason: 'TEST' });
        else {
          // A-1 is held until A-0 has been replayed: A-0 must wait behind.
          if (d.id === 'A-1') await replayed.promise;
          await d.ack();
        }
      },
      { prefetch: 4 },
    );
    await t.publish('kdl', [textMessage('A-0', { orderingKey: 'A' })]);
    await waitFor('the dead letter', async () => (await t.deadLetters.count({ topic: 'kdl' })) === 1);
    await t.publish('kdl', [
      textMessage('A-1', { orderingKey: 'A' }),
      textMessage('A-2', { orderingKey: 'A' }),
    ]);
    await waitFor('A-1 in its handler', () => order.includes('A-1#1'));
    expect(await t.deadLetters.replay({ topic: 'kdl' })).toBe(1);
    replayed.open();
    await waitFor('four deliveries', () => order.length >= 4);
    expect(order).toEqual(['A-0#1', 'A-1#1', 'A-2#1', 'A-0#1']);
  });

  it('never loses nor duplicates a handled effect, and keeps per-key order, whatever the interleaving of publishes, retries and competing consumers', async () => {
    const url = await schemaUrl();
    const a = await open(url);
    const b = await open(url);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        // Messages: a key (or none) and how many times the handler fails before it succeeds.
        fc.array(fc.record({ key: fc.constantFrom('A', 'B', 'C', undefined), failures: fc.nat(2) }), {
          minLength: 1,
          maxLength: 25,
        }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
        async (messages, batchSizes) => {
          const topic = `prop-${run++}`;
          await a.declareGroup(topic, 'g');
          const effects = new Map<string, number>();
          const perKey = new Map<string, string[]>();
          const inFlight = new Map<string, number>();
          let overlap = 0;
          const handler = async (d: Delivery) => {
            const m = messages[Number(d.id)] as { key?: string; failures: number };
            const k = d.orderingKey;
            if (k !== undefined) {
              inFlight.set(k, (inFlight.get(k) ?? 0) + 1);
              if ((inFlight.get(k) ?? 0) > 1) overlap++;
            }
            await new Promise((r) => setImmediate(r));
            if (k !== undefined) inFlight.set(k, (inFlight.get(k) ?? 1) - 1);
            if (d.attempt <= m.failures) return d.retry(0);
            effects.set(d.id, (effects.get(d.id) ?? 0) + 1);
            if (k !== undefined) perKey.set(k, [...(perKey.get(k) ?? []), d.id]);
            await d.ack();
          };
          const ca = await a.consume(topic, 'g', handler, { prefetch: 3 });
          const cb = await b.consume(topic, 'g', handler, { prefetch: 2 });
          // Publish in batches of the generated sizes, alternating the two connections.
          let i = 0;
          for (let j = 0; i < messages.length; j++) {
            const size = batchSizes[j % batchSizes.length] as number;
            const batch = messages
              .slice(i, i + size)
              .map((m, k) => textMessage(String(i + k), m.key === undefined ? {} : { orderingKey: m.key }));
            await (j % 2 ? b : a).publish(topic, batch);
            i += size;
          }
          await waitFor('every message handled', () => effects.size === messages.length);
          await waitFor('the group to be empty', async () => {
            const s = (await a.stats(topic))[0];
            return s !== undefined && s.pending === 0 && s.inFlight === 0;
          });
          await Promise.all([ca.stop(), cb.stop()]);
          expect([...effects.values()].every((n) => n === 1)).toBe(true);
          expect(overlap).toBe(0);
          for (const [key, ids] of perKey) {
            const expected = messages.flatMap((m, idx) => (m.key === key ? [String(idx)] : []));
            expect(ids).toEqual(expected);
          }
        },
      ),
      { numRuns: 12 },
    );
  }, 240_000);
});
