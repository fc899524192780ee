import { describe, expect, it } from 'vitest';
import { planWaves, unitsOf } from './publish-plan.js';
import type { ClaimedRow } from './relay-store.js';

const row = (seq: number, topic: string, orderingKey: string | null): ClaimedRow => ({
  seq,
  id: `e${seq}`,
  topic,
  orderingKey,
  priority: 'normal',
  deliverAt: null,
  envelope: '{}',
  headers: null,
  attempts: 0,
});
const shape = (waves: ReturnType<typeof planWaves>) =>
  waves.map((w) => Object.fromEntries([...w].map(([t, rows]) => [t, rows.map((r) => r.seq)])));

describe('planWaves', () => {
  it('keeps one wave while no key changes topic', () => {
    expect(
      shape(planWaves([row(1, 'a', 'k'), row(2, 'b', 'j'), row(3, 'a', 'k'), row(4, 'b', null)])),
    ).toEqual([{ a: [1, 3], b: [2, 4] }]);
  });
  it('moves a key to the next wave when it changes topic, so its rows go out in sequence order', () => {
    expect(
      shape(planWaves([row(1, 'a', 'k'), row(2, 'b', 'k'), row(3, 'a', 'k'), row(4, 'a', 'j')])),
    ).toEqual([{ a: [1, 4] }, { b: [2] }, { a: [3] }]);
  });
});

describe('unitsOf', () => {
  it('groups a batch by ordering key, each keyless row alone, in first-seen order', () => {
    const units = unitsOf([
      row(1, 'a', 'k'),
      row(2, 'a', null),
      row(3, 'a', 'j'),
      row(4, 'a', 'k'),
      row(5, 'a', null),
    ]);
    expect(units.map((u) => u.map((r) => r.seq))).toEqual([[1, 4], [2], [3], [5]]);
  });
});
