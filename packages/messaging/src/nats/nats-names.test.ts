import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headerViolations } from './nats-headers.js';
import {
  deadLetterNames,
  groupConsumerNames,
  idToken,
  isValidPrefix,
  parseAckSubject,
  partitionOf,
  safeToken,
  topicNames,
} from './nats-names.js';
import { natsOptionsFromUrl } from './nats-url.js';

/** What NATS accepts in a subject token, a stream name and a consumer name. */
const SAFE = /^[A-Za-z0-9_-]+$/;

describe('safeToken', () => {
  it('is always a non-empty token of [A-Za-z0-9_-] however odd the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        const t = safeToken(text);
        expect(t).toMatch(SAFE);
        expect(t.length).toBeLessThanOrEqual(57);
      }),
    );
  });

  it('keeps names apart that sanitise alike', () => {
    expect(safeToken('a.b')).not.toBe(safeToken('a_b'));
    expect(safeToken('orders.placed')).not.toBe(safeToken('orders>placed'));
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        fc.pre(a !== b);
        // 32-bit hash: a collision needs equal sanitised text and equal hash; none in practice.
        expect(safeToken(a) === safeToken(b)).toBe(false);
      }),
    );
  });

  it('is stable (the same name in every process)', () => {
    expect(safeToken('orders')).toBe(safeToken('orders'));
    expect(safeToken('orders')).toMatch(/^orders-[0-9a-f]{8}$/);
  });
});

describe('topicNames / groupConsumerNames / deadLetterNames', () => {
  it('derives valid stream, subject and consumer names', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$/),
        fc.string({ minLength: 1 }),
        (topic, group) => {
          const n = topicNames('ns', topic);
          expect(n.stream).toMatch(/^NS_[A-Za-z0-9_-]+$/);
          for (const subject of [n.prioritySubject('high'), n.partitionSubject(3), n.scheduledSubject]) {
            expect(subject.startsWith('ns.')).toBe(true);
            expect(subject.split('.').every((tok) => SAFE.test(tok))).toBe(true);
          }
          const g = groupConsumerNames(group);
          expect(g.priority('low')).toMatch(SAFE);
          expect(g.partition(15)).toMatch(SAFE);
          const d = deadLetterNames('ns');
          expect(d.subject(topic, group, 'id.with.dots').split('.')).toHaveLength(4);
        },
      ),
    );
  });

  it('builds DLQ filter subjects with wildcards for what is left open', () => {
    const d = deadLetterNames('ns');
    expect(d.filterSubject(undefined, undefined)).toBe('ns_dlq.*.*.*');
    expect(d.filterSubject('t', undefined)).toBe(`ns_dlq.${safeToken('t')}.*.*`);
    expect(d.subject('t', 'g', 'x')).toBe(`ns_dlq.${safeToken('t')}.${safeToken('g')}.${idToken('x')}`);
  });
});

describe('partitionOf', () => {
  it('puts every key in a partition in range, the same one every time', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 256 }), (key, n) => {
        const p = partitionOf(key, n);
        expect(Number.isInteger(p) && p >= 0 && p < n).toBe(true);
        expect(partitionOf(key, n)).toBe(p);
      }),
    );
  });
});

describe('parseAckSubject', () => {
  it('reads the v1 (NATS 2.9) and v2 reply subjects', () => {
    expect(parseAckSubject('$JS.ACK.S.C.3.17.9.1796369377586789465.2')).toEqual({
      stream: 'S',
      consumer: 'C',
      deliveryCount: 3,
      streamSequence: 17,
      timestampMs: 1796369377586,
    });
    expect(parseAckSubject('$JS.ACK.dom.acchash.S.C.1.5.5.1796369377586789465.0.tok')).toMatchObject({
      stream: 'S',
      consumer: 'C',
      deliveryCount: 1,
      streamSequence: 5,
    });
  });

  it('round-trips generated v1 subjects and rejects anything else', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
        fc.integer({ min: 1, max: 1e6 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.integer({ min: 1e12, max: 2e12 }),
        (stream, consumer, delivered, seq, ms) => {
          const subject = `$JS.ACK.${stream}.${consumer}.${delivered}.${seq}.${seq}.${ms}123456.0`;
          expect(parseAckSubject(subject)).toEqual({
            stream,
            consumer,
            deliveryCount: delivered,
            streamSequence: seq,
            timestampMs: ms,
          });
        },
      ),
    );
    fc.assert(
      fc.property(fc.string(), (junk) => {
        fc.pre(!junk.startsWith('$JS.ACK.'));
        expect(parseAckSubject(junk)).toBeUndefined();
      }),
    );
    expect(parseAckSubject('$JS.ACK.S.C.0.1.1.1.0')).toBeUndefined();
    expect(parseAckSubject('$JS.ACK.S.C.x.1.1.1.0')).toBeUndefined();
  });
});

describe('headerViolations', () => {
  it('accepts ordinary headers and refuses reserved names, odd names and line breaks', () => {
    expect(headerViolations({ traceparent: '00-a-b-01', 'content-type': 'application/json' }, 'h')).toEqual(
      [],
    );
    const v = headerViolations({ 'Nats-Msg-Id': 'x', 'sluice-id': 'y', 'a b': 'z', ok: 'line\nbreak' }, 'h');
    expect(v.map((x) => x.field).sort()).toEqual(['h.Nats-Msg-Id', 'h.a b', 'h.ok', 'h.sluice-id']);
  });
});

describe('natsOptionsFromUrl', () => {
  it('reads the namespace and tuning from the query string', () => {
    expect(natsOptionsFromUrl('nats://127.0.0.1:4222?prefix=shop&partitions=32&storage=memory')).toEqual({
      url: 'nats://127.0.0.1:4222',
      prefix: 'shop',
      partitions: 32,
      storage: 'memory',
    });
    expect(natsOptionsFromUrl('nats://h:1')).toEqual({ url: 'nats://h:1' });
  });

  it('refuses unknown parameters and bad values with MESSAGING_INVALID_URL', () => {
    for (const bad of [
      'nats://h?x=1',
      'nats://h?partitions=0',
      'nats://h?partitions=two',
      'nats://h?storage=disk',
    ])
      expect(() => natsOptionsFromUrl(bad), bad).toThrow(
        expect.objectContaining({ code: 'invalid_argument', reason: 'MESSAGING_INVALID_URL' }),
      );
  });

  it('accepts only safe prefixes', () => {
    expect(isValidPrefix('t_conf_ab12')).toBe(true);
    for (const bad of ['', 'a.b', 'a*', 'x>', 'sp ace', 'x'.repeat(33)])
      expect(isValidPrefix(bad)).toBe(false);
  });
});
