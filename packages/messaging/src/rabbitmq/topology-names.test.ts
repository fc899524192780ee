import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NAME_PATTERN } from '../message-validation.js';
import { partitionOf, priorityOf, topologyNames } from './topology-names.js';

const name = fc.stringMatching(NAME_PATTERN);

describe('topologyNames', () => {
  it('never gives two different (topic, group) pairs the same queue, within AMQP’s 255 bytes (property)', () => {
    const names = topologyNames('sluice-test');
    fc.assert(
      fc.property(name, name, name, name, (t1, g1, t2, g2) => {
        fc.pre(t1 !== t2 || g1 !== g2);
        for (const make of [
          (t: string, g: string) => names.groupQueue(t, g),
          (t: string, g: string) => names.partitionQueue(t, g, 3),
          (t: string, g: string) => names.deadLetterQueue(t, g),
        ]) {
          expect(make(t1, g1)).not.toBe(make(t2, g2));
          expect(Buffer.byteLength(make(t1, g1))).toBeLessThanOrEqual(255);
        }
        expect(Buffer.byteLength(names.exchange(t1))).toBeLessThanOrEqual(255);
      }),
    );
  });

  it('keeps short names readable and refuses a bad prefix', () => {
    const names = topologyNames('shop');
    expect(names.groupQueue('order.placed', 'billing')).toBe('shop~order.placed~billing');
    expect(names.partitionQueue('order.placed', 'billing', 2)).toBe('shop~order.placed~billing~p2');
    expect(names.deadLetterQueue('order.placed', 'billing')).toBe('shop~order.placed~billing~dlq');
    for (const bad of ['', 'a~b', 'has space', 'x'.repeat(41)]) {
      expect(() => topologyNames(bad)).toThrow(expect.objectContaining({ reason: 'MESSAGING_INVALID_URL' }));
    }
  });
});

describe('partitionOf', () => {
  it('is stable and inside the range (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 256 }), (key, n) => {
        const p = partitionOf(key, n);
        expect(p).toBe(partitionOf(key, n));
        expect(Number.isInteger(p) && p >= 0 && p < n).toBe(true);
      }),
    );
  });

  it('spreads keys over the partitions', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8_000; i++) counts[partitionOf(`order-${i}`, 8)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(700);
  });
});

describe('priorityOf', () => {
  it('maps AMQP priorities back to high / normal / low', () => {
    expect([undefined, 0, 1, 2, 9].map((p) => priorityOf(p))).toEqual([
      'normal',
      'low',
      'normal',
      'high',
      'high',
    ]);
  });
});
