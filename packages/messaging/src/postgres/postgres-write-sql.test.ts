import { describe, expect, it } from 'vitest';
import { textMessage } from '../conformance/conformance-helpers.js';
import { DUE_SUFFIX, type StoreWrite, type WritePlan, WriteSql } from './postgres-write-sql.js';

const sql = new WriteSql(
  { groups: '"s"."groups"', deliveries: '"s"."deliveries"', dead: '"s"."dead_letters"' },
  's',
);
const token = (seq: string) => ({ seq, attempt: 1, owner: '00000000-0000-4000-8000-000000000001' });

/** The NOTIFY payloads of a plan (the last parameter of its NOTIFY). */
function notified(plan: WritePlan | undefined): string[] {
  if (plan === undefined) return [];
  const statements = 'single' in plan ? [plan.single] : plan.transaction;
  const withNotify = statements.find(([text]) => text.includes('pg_notify'));
  return withNotify ? (withNotify[1].at(-1) as string[]) : [];
}

describe('WriteSql.plan', () => {
  it('commits a batch without ordering keys as one statement, its placeholders numbered in order', () => {
    const writes: StoreWrite[] = [
      { kind: 'publish', topic: 't', messages: [textMessage('a'), textMessage('b')] },
      { kind: 'ack', token: token('1'), topic: 't', keyed: null },
      { kind: 'retry', token: token('2'), topic: 'u', delayMs: 0 },
      { kind: 'renew', token: token('3'), leaseMs: 1_000 },
    ];
    const plan = sql.plan(writes);
    expect(plan && 'single' in plan).toBe(true);
    const [text, params] = (plan as { single: [string, unknown[]] }).single;
    const used = [...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
    expect(Math.max(...used)).toBe(params.length);
    expect(new Set(used).size).toBe(params.length);
    expect(text).not.toContain('pg_advisory_xact_lock');
  });

  it('takes the locks of ordering keys first, in a transaction, when a write has a key', () => {
    const plan = sql.plan([
      { kind: 'publish', topic: 't', messages: [textMessage('a', { orderingKey: 'K' })] },
      { kind: 'ack', token: token('1'), topic: 't', keyed: 'L' },
    ]);
    expect(plan && 'transaction' in plan).toBe(true);
    const statements = (plan as { transaction: Array<[string, unknown[]]> }).transaction;
    expect(statements[0]?.[0]).toContain('pg_advisory_xact_lock');
    expect(statements[0]?.[1]).toEqual([expect.any(Array)]);
    expect((statements[0] as [string, unknown[]])[1][0]).toHaveLength(2);
    // The insert comes before the delete that promotes the key's next row.
    const insertAt = statements.findIndex(([t]) => t.includes('INSERT INTO "s"."deliveries"'));
    const deleteAt = statements.findIndex(([t]) => t.includes('DELETE FROM "s"."deliveries"'));
    expect(insertAt).toBeGreaterThan(0);
    expect(deleteAt).toBeGreaterThan(insertAt);
  });

  it('drops the renewal of a row settled in the same batch', () => {
    const plan = sql.plan([
      { kind: 'renew', token: token('7'), leaseMs: 1_000 },
      { kind: 'ack', token: token('7'), topic: 't', keyed: null },
    ]);
    const [text] = (plan as { single: [string, unknown[]] }).single;
    expect(text).toContain('DELETE');
    expect(text).not.toContain('lease * interval');
  });

  it('notifies each topic once, flagged @due when due times changed, and nothing for acks and renewals', () => {
    expect(
      notified(
        sql.plan([
          { kind: 'publish', topic: 'now', messages: [textMessage('a')] },
          { kind: 'publish', topic: 'later', messages: [textMessage('b', { deliverAt: new Date() })] },
          { kind: 'retry', token: token('1'), topic: 'now', delayMs: 0 },
          { kind: 'retry', token: token('2'), topic: 'delayed', delayMs: 500 },
          { kind: 'release', token: token('3'), topic: 'released' },
        ]),
      ).sort(),
    ).toEqual([`delayed${DUE_SUFFIX}`, `later${DUE_SUFFIX}`, 'now', 'released'].sort());
    expect(
      notified(
        sql.plan([
          { kind: 'ack', token: token('1'), topic: 't', keyed: null },
          { kind: 'renew', token: token('2'), leaseMs: 1_000 },
        ]),
      ),
    ).toEqual([]);
    expect(sql.plan([])).toBeUndefined();
  });
});
