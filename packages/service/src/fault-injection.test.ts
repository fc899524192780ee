import { isSluiceError, SluiceError } from '@sluice/errors';
import { createVirtualClock } from '@sluice/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFaultInjector, parseFaultSpec } from './fault-injection.js';

describe('FaultInjector', () => {
  it('returns nothing to await when no fault matches', () => {
    const faults = createFaultInjector();
    expect(faults.inject('inventory.ReserveStock')).toBeUndefined();
    faults.add({ target: 'payment.*', kind: 'error' });
    expect(faults.inject('inventory.ReserveStock')).toBeUndefined();
  });

  it('delays a matching call by the fault latency', async () => {
    const clock = createVirtualClock();
    const faults = createFaultInjector({ clock });
    faults.add({ target: 'inventory.*', kind: 'latency', latencyMs: 300 });
    let done = false;
    const call = faults.inject('inventory.ReserveStock')?.then(() => {
      done = true;
    });
    await clock.advance(299);
    expect(done).toBe(false);
    await clock.advance(1);
    await call;
    expect(done).toBe(true);
    expect(faults.list()[0]?.hits).toBe(1);
  });

  it('fails a matching call with the configured code', async () => {
    const faults = createFaultInjector();
    faults.add({ target: 'payment.ProcessPayment', kind: 'error', errorCode: 'resource_exhausted' });
    const err = await faults.inject('payment.ProcessPayment')?.catch((e: unknown) => e);
    expect(isSluiceError(err) && err.code).toBe('resource_exhausted');
    expect(isSluiceError(err) && err.reason).toBe('SERVICE_INJECTED_FAULT');
  });

  it('holds a call until the caller aborts it', async () => {
    const faults = createFaultInjector({ clock: createVirtualClock() });
    faults.add({ target: '*', kind: 'hang' });
    const ac = new AbortController();
    const call = faults.inject('anything', ac.signal)?.catch((e: unknown) => e);
    ac.abort();
    const err = await call;
    expect(isSluiceError(err) && err.code).toBe('cancelled');
  });

  it('applies a fault only to the share of calls its probability says', () => {
    const rolls = [0.1, 0.9, 0.4, 0.6];
    const faults = createFaultInjector({ random: () => rolls.shift() ?? 0 });
    faults.add({ target: 'x', kind: 'error', probability: 0.5 });
    const hit = [1, 2, 3, 4].map(() => faults.inject('x'));
    for (const p of hit) p?.catch(() => {});
    expect(hit.map((p) => p !== undefined)).toEqual([true, false, true, false]);
  });

  it('removes a fault after its duration, and on clear', async () => {
    const clock = createVirtualClock();
    const faults = createFaultInjector({ clock });
    const changes: number[] = [];
    faults.onChange((f) => changes.push(f.length));
    faults.add({ target: 'a', kind: 'error', durationMs: 1000 });
    const b = faults.add({ target: 'b', kind: 'error' });
    await clock.advance(1000);
    expect(faults.list().map((f) => f.target)).toEqual(['b']);
    expect(faults.clear(b.id)).toBe(1);
    expect(faults.clear()).toBe(0);
    expect(changes).toEqual([1, 2, 1, 0]);
  });
});

describe('parseFaultSpec', () => {
  it('lists every bad field of a malformed request', () => {
    const err = (() => {
      try {
        parseFaultSpec({ target: '', kind: 'latency', latencyMs: -5, colour: 'red' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SluiceError);
    const fields = (err as SluiceError).details?.violations?.map((v) => v.field);
    expect(fields).toEqual(expect.arrayContaining(['colour', 'target', 'latencyMs']));
  });

  it('either accepts a value or throws invalid_argument, for any JSON input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ target: fc.string(), kind: fc.string(), latencyMs: fc.integer() }),
        ),
        (value) => {
          try {
            const spec = parseFaultSpec(value);
            expect(['latency', 'error', 'hang']).toContain(spec.kind);
          } catch (e) {
            expect(isSluiceError(e) && e.code).toBe('invalid_argument');
          }
        },
      ),
    );
  });
});
