import { TimeoutError, timeout } from '@sluice/resilience';
import { describe, expect, it } from 'vitest';
import { createVirtualClock } from './index.js';

describe('README', () => {
  it('runs the virtual clock example', async () => {
    const clock = createVirtualClock();
    const call = timeout(100, { clock }).executeOutcome(() => new Promise(() => {}));
    await clock.advance(100); // the timeout fires now
    const outcome = await call; // never rejects: { ok: false, error }
    expect(outcome.ok === false && outcome.error).toBeInstanceOf(TimeoutError);
  });
});
