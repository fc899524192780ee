import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIdempotencyKey, parseIdempotencyKey } from './idempotency-key.js';

describe('parseIdempotencyKey', () => {
  it('accepts the structured-field string form and a bare token as the same key', () => {
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe(
      '8e03978e-40d5-43e8-bc93-6894a57f9324',
    );
    expect(parseIdempotencyKey('8e03978e-40d5')).toBe('8e03978e-40d5');
    expect(formatIdempotencyKey('k-1')).toBe('"k-1"');
  });

  it('rejects empty, too long, non-ASCII, quoted or repeated keys with invalid_argument', () => {
    for (const bad of ['', '""', '   ', 'x'.repeat(256), 'ключ', '"a"b"', 'a\\b']) {
      expect(() => parseIdempotencyKey(bad)).toThrow(
        expect.objectContaining({ reason: 'HTTP_IDEMPOTENCY_KEY_INVALID' }),
      );
    }
    expect(() => parseIdempotencyKey(['a', 'b'])).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
  });

  it('either returns a key that formats and parses back to itself, or throws invalid_argument', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        let key: string;
        try {
          key = parseIdempotencyKey(s);
        } catch (error) {
          expect(error).toMatchObject({ code: 'invalid_argument', reason: 'HTTP_IDEMPOTENCY_KEY_INVALID' });
          return;
        }
        expect(key.length).toBeGreaterThan(0);
        expect(key.length).toBeLessThanOrEqual(255);
        expect(parseIdempotencyKey(formatIdempotencyKey(key))).toBe(key);
      }),
    );
  });
});
