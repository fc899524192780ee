import { createVirtualClock } from '@sluice/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deadline } from './deadline.js';
import { DeadlineExceededError, TimeoutError } from './errors.js';
import { expectInvalidOption } from './expect-invalid-option.test-support.js';
import { timeout } from './timeout.js';

const never = () => new Promise<never>(() => {});

describe('timeout', () => {
  it('rejects at the limit with a TimeoutError naming the operation and the milliseconds', async () => {
    const clock = createVirtualClock();
    const policy = timeout(100, { name: 'inventory.check', clock, resolutionMs: 0 });
    const call = policy.execute(never);
    const seen = expect(call).rejects.toMatchObject({
      name: 'TimeoutError',
      code: 'deadline_exceeded',
      reason: 'RESILIENCE_TIMEOUT',
      operation: 'inventory.check',
      timeoutMs: 100,
      message: 'inventory.check timed out after 100 ms',
    });
    await clock.advance(99);
    expect(policy.metrics().timeouts).toBe(0);
    await clock.advance(1);
    await seen;
    expect(policy.metrics()).toMatchObject({ calls: 1, timeouts: 1, pending: 0 });
  });

  it('aborts the signal of a timed-out operation, with the TimeoutError as reason', async () => {
    const clock = createVirtualClock();
    let signal: AbortSignal | undefined;
    const call = timeout(50, { clock }).execute((ctx) => {
      signal = ctx.signal;
      return never();
    });
    call.catch(() => {});
    expect(signal?.aborted).toBe(false);
    await clock.advance(50);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(TimeoutError);
    await expect(call).rejects.toBe(signal?.reason);
  });

  it('aggressive: settles at the limit even when the operation ignores its signal', async () => {
    const clock = createVirtualClock();
    let finished = false;
    const call = timeout(10, { clock }).execute(async () => {
      await new Promise((r) => clock.setTimeout(() => r(undefined), 1_000));
      finished = true;
      return 'late';
    });
    const result = call.then(
      () => 'resolved',
      (e: unknown) => (e instanceof TimeoutError ? 'timed out' : 'other'),
    );
    await clock.advance(10);
    expect(await result).toBe('timed out');
    expect(finished).toBe(false);
    await clock.advance(1_000);
    expect(finished).toBe(true);
  });

  it('cooperative: waits for the operation to stop, then reports the timeout with its error as cause', async () => {
    const clock = createVirtualClock();
    let settled = false;
    const call = timeout(10, { clock, strategy: 'cooperative' }).execute(
      ({ signal }) =>
        new Promise((_, reject) => {
          // Stops 5 ms after being asked to.
          signal.addEventListener('abort', () => clock.setTimeout(() => reject(new Error('stopped')), 5));
        }),
    );
    call.then(
      () => {},
      () => {
        settled = true;
      },
    );
    await clock.advance(10);
    expect(settled).toBe(false);
    await clock.advance(5);
    expect(settled).toBe(true);
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).cause).toEqual(new Error('stopped'));
  });

  it('cooperative: returns the value of an operation that finished despite the abort', async () => {
    const clock = createVirtualClock();
    const call = timeout(10, { clock, strategy: 'cooperative' }).execute(
      () => new Promise((r) => clock.setTimeout(() => r('done anyway'), 20)),
    );
    await clock.advance(20);
    await expect(call).resolves.toBe('done anyway');
  });

  it('exact mode: times each call out at its own limit although all share one timer', async () => {
    const clock = createVirtualClock();
    const policy = timeout(100, { clock, resolutionMs: 0 });
    const outcomes: string[] = [];
    const track = (name: string, p: Promise<unknown>) =>
      p.then(
        () => outcomes.push(`${name} ok @${clock.now()}`),
        () => outcomes.push(`${name} timeout @${clock.now()}`),
      );
    void track('a', policy.execute(never));
    await clock.advance(30);
    void track(
      'b',
      policy.execute(() => new Promise((r) => clock.setTimeout(() => r(1), 20))),
    );
    await clock.advance(20);
    void track('c', policy.execute(never));
    await clock.advance(200);
    expect(outcomes).toEqual(['b ok @50', 'a timeout @100', 'c timeout @150']);
    expect(clock.pending).toBe(0);
  });

  it('ticking mode (the default from 100 ms): never early, at most 2 resolutions late, stops ticking when idle', async () => {
    const clock = createVirtualClock();
    const policy = timeout(1_000, { clock });
    expect(policy.resolutionMs).toBe(5);
    const firedAt: number[] = [];
    const starts = [0, 3, 4.9, 5, 7, 12];
    for (const start of starts) {
      await clock.advanceTo(start);
      policy.execute(never).catch(() => firedAt.push(clock.now()));
    }
    await clock.advanceTo(1_100);
    expect(firedAt).toHaveLength(starts.length);
    starts.forEach((start, i) => {
      const at = firedAt[i] as number;
      expect(at).toBeGreaterThanOrEqual(start + 1_000);
      expect(at).toBeLessThanOrEqual(start + 1_000 + 2 * 5);
    });
    expect(clock.pending).toBe(0); // nothing pending: the tick timer stopped
    // A call after the idle period restarts the ticking from its own start.
    const late = policy.execute(never);
    late.catch(() => {});
    const lateStart = clock.now();
    await clock.advance(999);
    expect(policy.metrics().timeouts).toBe(starts.length);
    await clock.advance(11);
    await expect(late).rejects.toBeInstanceOf(TimeoutError);
    expect(clock.now() - lateStart).toBeGreaterThanOrEqual(1_000);
  });

  it('ticking mode: never fires early whatever the call times (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1_000, max: 20_000 }),
        fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 1, maxLength: 20 }),
        async (ms, gaps) => {
          const clock = createVirtualClock();
          const policy = timeout(ms, { clock });
          const r = policy.resolutionMs;
          const late: number[] = [];
          for (const gap of gaps) {
            await clock.advance(gap);
            const start = clock.now();
            policy.execute(never).catch(() => late.push(clock.now() - start - ms));
          }
          await clock.runAll(1_000_000);
          expect(late).toHaveLength(gaps.length);
          for (const l of late) {
            expect(l).toBeGreaterThanOrEqual(0);
            expect(l).toBeLessThanOrEqual(2 * r);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('passes values and errors of synchronous operations through', async () => {
    const policy = timeout(100, { clock: createVirtualClock() });
    await expect(policy.execute(() => 41 + 1)).resolves.toBe(42);
    await expect(
      policy.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(policy.metrics().pending).toBe(0);
  });

  it('uses the deadline when it is tighter and raises DeadlineExceededError', async () => {
    const clock = createVirtualClock();
    const policy = timeout(1_000, { clock, name: 'op' });
    const call = policy.execute(never, { deadline: Deadline.after(30, clock) });
    const seen = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(30);
    await seen;
  });

  it('fails at once without running the operation when the deadline has passed', async () => {
    const clock = createVirtualClock();
    const deadline = Deadline.after(10, clock);
    await clock.advance(10);
    let ran = false;
    await expect(
      timeout(1_000, { clock }).execute(
        () => {
          ran = true;
        },
        { deadline },
      ),
    ).rejects.toMatchObject({ reason: 'RESILIENCE_DEADLINE_EXCEEDED' });
    expect(ran).toBe(false);
  });

  it('narrows the deadline the operation sees to its own limit', async () => {
    const clock = createVirtualClock({ start: 1_000 });
    const policy = timeout(200, { clock });
    const loose = await policy.execute((ctx) => ctx.deadline?.remaining(), {
      deadline: Deadline.after(5_000, clock),
    });
    expect(loose).toBe(200);
    const tight = await policy.execute((ctx) => ctx.deadline?.remaining(), {
      deadline: Deadline.after(50, clock),
    });
    expect(tight).toBe(50);
    expect(await policy.execute((ctx) => ctx.deadline?.remaining())).toBe(200);
  });

  it("forwards the caller's abort to the operation's signal and stops listening after the call", async () => {
    const clock = createVirtualClock();
    const caller = new AbortController();
    let inner: AbortSignal | undefined;
    const call = timeout(1_000, { clock }).execute(({ signal }) => {
      inner = signal;
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    }, caller.signal);
    caller.abort(new Error('user left'));
    await expect(call).rejects.toThrow('user left');
    expect(inner?.aborted).toBe(true);
  });

  it('applies only the deadline when the limit is Infinity', async () => {
    const clock = createVirtualClock();
    const policy = timeout(Number.POSITIVE_INFINITY, { clock });
    await expect(policy.execute(() => 'no limit')).resolves.toBe('no limit');
    await expect(policy.execute((ctx) => ctx.deadline)).resolves.toBeUndefined();
    const call = policy.execute(never, { deadline: Deadline.after(5, clock) });
    const seen = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(5);
    await seen;
  });

  it('emits onTimeout and stops emitting after the disposer runs', async () => {
    const clock = createVirtualClock();
    const policy = timeout(5, { clock, name: 'x' });
    const events: unknown[] = [];
    const dispose = policy.onTimeout((e) => events.push(e));
    policy.execute(never).catch(() => {});
    await clock.advance(5);
    dispose();
    policy.execute(never).catch(() => {});
    await clock.advance(5);
    expect(events).toEqual([{ policy: 'x', timeoutMs: 5, byDeadline: false }]);
  });

  it('rejects a limit that is not positive', () => {
    expectInvalidOption(() => timeout(0), 'ms');
    expectInvalidOption(() => timeout(-1), 'ms');
  });
});
