import { isSluiceError } from '@sluice/errors';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createFaultInjector, migrateSqlite, readEnv } from './index.js';

describe('README', () => {
  it('runs the example', async () => {
    const config = readEnv(
      { PORT: '8083' },
      {
        PORT: { type: 'int', default: 8083, min: 0, max: 65535 },
        SLUICE_SAGA_MODE: {
          type: 'enum',
          values: ['orchestration', 'choreography'],
          default: 'orchestration',
        },
      },
    );
    expect(config).toEqual({ PORT: 8083, SLUICE_SAGA_MODE: 'orchestration' });

    const db = new Database(':memory:');
    migrateSqlite(db, [
      { version: 1, name: 'stock', sql: 'CREATE TABLE stock (id TEXT PRIMARY KEY, units INTEGER)' },
    ]);
    expect(db.prepare('SELECT count(*) AS n FROM stock').get()).toEqual({ n: 0 });

    const faults = createFaultInjector();
    faults.add({ target: 'inventory.*', kind: 'error', errorCode: 'unavailable' });
    const injected = faults.inject('inventory.ReserveStock');
    const err = await injected?.catch((e: unknown) => e);
    expect(isSluiceError(err) && err.code).toBe('unavailable');
    expect(faults.inject('payment.ProcessPayment')).toBeUndefined();
  });
});
