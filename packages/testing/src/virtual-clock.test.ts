import { SluiceError } from '@sluice/errors';
import {
  CircuitOpenError,
  circuitBreaker,
  consecutive,
  constant,
  Deadline,
  pipeline,
  retry,
  TimeoutError,
  timeout,
} from '@sluice/resilience';
import { describe, expect, it } from 'vitest';
import { createVirtualClock } from './virtual-clock.js';

describe('createVirtualClock', () => {
  it('runs timers in time order, and same-time timers in the order they were set', async () => {
    const clock = createVirtualClock({ start: 1_000 });
    const order: string[] = [];
    clock.setTimeout(() => order.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => order.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => order.push(`b@${clock.now()}`), 10);
    await clock.advance(25);
    expect(order).toEqual(['a@1010', 'b@1010']);
    expect(clock.now()).toBe(1_025);
    await clock.advance(5);
    expect(order).toEqual(['a@1010', 'b@1010', 'c@1030']);
    expect(clock.pending).toBe(0);
  });

  it('does not run cleared timers', async () => {
    const clock = createVirtualClock();
    let ran = false;
    const handle = clock.setTimeout(() => {
      ran = true;
    }, 5);
    expect(clock.pending).toBe(1);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    expect(clock.pending).toBe(0);
    await clock.advance(10);
    expect(ran).toBe(false);
  });

  it('catches timers set after an await within the same advance', async () => {
    const clock = createVirtualClock();
    const ticks: number[] = [];
    const loop = async () => {
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((r) => clock.setTimeout(r, 100));
        ticks.push(clock.now());
      }
    };
    const done = loop();
    await clock.advance(300);
    await done;
    expect(ticks).toEqual([100, 200, 300]);
  });

  it('runNext and runAll move time to each timer; runAll stops a timer that re-arms forever', async () => {
    const clock = createVirtualClock();
    clock.setTimeout(() => {}, 50);
    clock.setTimeout(() => {}, 70);
    expect(await clock.runNext()).toBe(true);
    expect(clock.now()).toBe(50);
    expect(await clock.runAll()).toBe(1);
    expect(clock.now()).toBe(70);
    expect(await clock.runNext()).toBe(false);
    const rearm = () => clock.setTimeout(rearm, 1);
    rearm();
    await expect(clock.runAll(100)).rejects.toThrow('100 timers');
  });

  it('drives retry backoff, timeouts and breaker breaks without real waiting', async () => {
    const clock = createVirtualClock();
    const breaker = circuitBreaker({ strategy: consecutive(2), breakDurationMs: 5_000, clock });
    const policy = pipeline(
      breaker,
      retry({ maxAttempts: 2, backoff: constant(1_000), clock }),
      timeout(200, { clock }),
    );
    const call = policy.execute(() => new Promise(() => {}));
    call.catch(() => {});
    await clock.advance(200 + 1_000 + 200);
    await expect(call).rejects.toBeInstanceOf(TimeoutError);
    // One breaker outcome per call (the retry is inside); a second failing call opens it.
    const second = policy.execute(() => {
      throw new SluiceError({ code: 'internal', reason: 'TEST_BUG' });
    });
    await expect(second).rejects.toMatchObject({ reason: 'TEST_BUG' });
    await expect(policy.execute(() => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    await clock.advance(5_000);
    await expect(policy.execute(() => 'back')).resolves.toBe('back');
  });

  it('measures deadlines', async () => {
    const clock = createVirtualClock();
    const deadline = Deadline.after(300, clock);
    await clock.advance(120);
    expect(deadline.remaining()).toBe(180);
  });

  it('rejects a negative advance', async () => {
    await expect(createVirtualClock().advance(-1)).rejects.toThrow(RangeError);
  });
});
