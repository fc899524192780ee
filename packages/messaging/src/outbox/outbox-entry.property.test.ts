import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { thing as thingOf } from './outbox.test-support.js';
import { createSqliteOutbox } from './sqlite-outbox.js';

const REQUIRED = ['specversion', 'id', 'type', 'source', 'time', 'dataschema', 'correlationid'] as const;

/** A valid entry (with a fresh id), or one broken in a known way. */
const entry = fc.uuid({ version: 4 }).chain((id) => {
  const thing = (subject: string) => thingOf(subject, 0, id);
  return fc.oneof(
    fc.constant({ broken: false, value: thing('k') as unknown }),
    fc.record({ drop: fc.constantFrom(...REQUIRED) }).map(({ drop }) => {
      const e: Record<string, unknown> = { ...thing('k') };
      delete e[drop];
      return { broken: true, value: e as unknown };
    }),
    fc
      .record({
        field: fc.constantFrom(...REQUIRED, 'subject'),
        junk: fc.oneof(fc.integer(), fc.constant(null), fc.constant('')),
      })
      .map(({ field, junk }) => ({ broken: true, value: { ...thing('k'), [field]: junk } as unknown })),
    fc
      .record({ extra: fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !(k in thing('k'))) })
      .map(({ extra }) => ({
        broken: true,
        value: { ...thing('k'), [extra]: 1 } as unknown,
      })),
    fc
      .record({
        topic: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
        priority: fc.option(fc.constantFrom('high', 'normal', 'low', 'urgent', ''), { nil: undefined }),
        orderingKey: fc.option(fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), { nil: undefined }),
      })
      .map((o) => {
        const badTopic = o.topic !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(o.topic);
        const badPriority = o.priority !== undefined && !['high', 'normal', 'low'].includes(o.priority);
        const badKey =
          o.orderingKey !== undefined && (typeof o.orderingKey !== 'string' || o.orderingKey.length === 0);
        const value: Record<string, unknown> = { event: thing('k') };
        for (const [k, v] of Object.entries(o)) if (v !== undefined) value[k] = v;
        return { broken: badTopic || badPriority || badKey, value: value as unknown };
      }),
    fc.anything().map((value) => ({ broken: true, value })),
  );
});

describe('outbox add (property)', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE state (n INTEGER)');
  const outbox = createSqliteOutbox(db);
  outbox.install();
  afterAll(() => db.close());
  let runs = 0;
  let accepted = 0;

  it('writes every entry of a valid batch; any bad entry rejects the batch with field errors under its index, and the caller rolls back', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 5 }), (entries) => {
        runs++;
        const before = (db.prepare('SELECT count(*) AS n FROM sluice_outbox').get() as { n: number }).n;
        const bad = entries.flatMap((e, i) => (e.broken ? [i] : []));
        let error: { code?: string; details?: { violations?: { field: string }[] } } | undefined;
        try {
          db.transaction(() => {
            db.prepare('INSERT INTO state VALUES (1)').run();
            outbox.add(entries.map((e) => e.value) as never);
          })();
        } catch (e) {
          error = e as typeof error;
        }
        const after = (db.prepare('SELECT count(*) AS n FROM sluice_outbox').get() as { n: number }).n;
        if (bad.length === 0) {
          accepted++;
          expect(error).toBeUndefined();
          expect(after).toBe(before + entries.length);
          return;
        }
        expect(error?.code).toBe('invalid_argument');
        const indexes = new Set(
          (error?.details?.violations ?? []).map((v) => Number(/^entries\.(\d+)/.exec(v.field)?.[1])),
        );
        expect([...indexes].sort()).toEqual(bad);
        expect(after).toBe(before);
      }),
      { numRuns: 300 },
    );
    // Exactly the accepted batches kept their state change; every rejected one rolled it back.
    expect(db.prepare('SELECT count(*) AS n FROM state').get()).toEqual({ n: accepted });
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(runs);
  });
});
