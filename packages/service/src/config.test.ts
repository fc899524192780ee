import { isSluiceError } from '@sluice/errors';
import { describe, expect, it } from 'vitest';
import { readEnv } from './config.js';

const spec = {
  PORT: { type: 'int', default: 8083, min: 0, max: 65535 },
  MODE: { type: 'enum', values: ['orchestration', 'choreography'], default: 'orchestration' },
  DB: { type: 'string' },
  VERBOSE: { type: 'bool', default: false },
} as const;

describe('readEnv', () => {
  it('reads typed values and fills defaults', () => {
    const c = readEnv({ DB: 'sqlite:x.db', PORT: '9000', VERBOSE: 'true' }, spec);
    expect(c).toEqual({ PORT: 9000, MODE: 'orchestration', DB: 'sqlite:x.db', VERBOSE: true });
  });

  it('fails fast listing every bad or missing variable', () => {
    try {
      readEnv({ PORT: '70000', MODE: 'chaos', VERBOSE: 'yes' }, spec);
      expect.unreachable();
    } catch (e) {
      expect(isSluiceError(e) && e.reason).toBe('SERVICE_INVALID_CONFIG');
      const fields = isSluiceError(e) ? e.details?.violations?.map((v) => v.field) : [];
      expect(fields?.sort()).toEqual(['DB', 'MODE', 'PORT', 'VERBOSE']);
    }
  });
});
