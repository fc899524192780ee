import { SluiceError } from '@sluice/errors';
import { createVirtualClock } from '@sluice/testing';
import { describe, expect, it } from 'vitest';
import { constant } from './backoff.js';
import { currentDeadline, Deadline, withDeadline } from './deadline.js';
import { DeadlineExceededError } from './errors.js';
import { retry } from './retry.js';
import { timeout } from './timeout.js';

describe('Deadline', () => {
  it('counts down on its clock and never reports negative time', async () => {
    const clock = createVirtualClock();
    const d = Deadline.after(100, clock);
    expect(d.remaining()).toBe(100);
    expect(d.expired).toBe(false);
    await clock.advance(60);
    expect(d.remaining()).toBe(40);
    await clock.advance(100);
    expect(d.remaining()).toBe(0);
    expect(d.expired).toBe(true);
    expect(() => d.throwIfExpired('op')).toThrow(DeadlineExceededError);
  });

  it('downstream() keeps the overhead back and fails at once when nothing is left', async () => {
    const clock = createVirtualClock();
    const d = Deadline.after(100, clock);
    expect(d.downstream(30).remaining()).toBe(70);
    await clock.advance(80);
    expect(() => d.downstream(30)).toThrow(DeadlineExceededError);
    try {
      d.downstream(30);
    } catch (e) {
      expect(e).toMatchObject({ code: 'deadline_exceeded', reason: 'RESILIENCE_DEADLINE_EXCEEDED' });
    }
    expect(d.downstream().remaining()).toBe(20);
  });

  it('min() picks the tighter deadline', () => {
    const clock = createVirtualClock();
    const a = Deadline.after(10, clock);
    const b = Deadline.after(20, clock);
    expect(a.min(b)).toBe(a);
    expect(b.min(a)).toBe(a);
    expect(a.min(undefined)).toBe(a);
  });
});

describe('withDeadline', () => {
  it('carries the current deadline through async code, and nesting only tightens it', async () => {
    const clock = createVirtualClock();
    expect(currentDeadline()).toBeUndefined();
    const outer = Deadline.after(100, clock);
    await withDeadline(outer, async () => {
      await Promise.resolve();
      expect(currentDeadline()).toBe(outer);
      withDeadline(Deadline.after(500, clock), () => expect(currentDeadline()).toBe(outer));
      const tight = Deadline.after(10, clock);
      withDeadline(tight, () => expect(currentDeadline()).toBe(tight));
    });
    expect(currentDeadline()).toBeUndefined();
  });

  it('is what policies use when no deadline is passed explicitly', async () => {
    const clock = createVirtualClock();
    const policy = timeout(1_000, { clock });
    const seen = await withDeadline(Deadline.after(40, clock), () =>
      policy.execute((ctx) => ctx.deadline?.remaining()),
    );
    expect(seen).toBe(40);
    const call = withDeadline(Deadline.after(40, clock), () => policy.execute(() => new Promise(() => {})));
    const failed = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(40);
    await failed;
  });

  it('explicit form: execute(fn, { signal, deadline }) — tightened by the current one, signal passed through', async () => {
    const clock = createVirtualClock();
    const policy = timeout(1_000, { clock });
    const controller = new AbortController();
    const seen = await withDeadline(Deadline.after(300, clock), () =>
      policy.execute((ctx) => ({ left: ctx.deadline?.remaining(), aborted: ctx.signal.aborted }), {
        signal: controller.signal,
        deadline: Deadline.after(500, clock),
      }),
    );
    expect(seen).toEqual({ left: 300, aborted: false });
    const explicitOnly = await policy.execute((ctx) => ctx.deadline?.remaining(), {
      deadline: Deadline.after(200, clock),
    });
    expect(explicitOnly).toBe(200);
    controller.abort();
    await expect(policy.execute(() => 1, { signal: controller.signal })).rejects.toMatchObject({
      code: 'cancelled',
    });
  });

  it('a retry does not start an attempt its delay would push past the deadline', async () => {
    const clock = createVirtualClock();
    const policy = retry({ maxAttempts: 5, backoff: constant(100), clock });
    const reasons: string[] = [];
    policy.onGiveUp((e) => reasons.push(e.reason));
    let attempts = 0;
    const call = policy.execute(
      () => {
        attempts++;
        throw new SluiceError({ code: 'unavailable', reason: 'X' });
      },
      { deadline: Deadline.after(250, clock) },
    );
    call.catch(() => {});
    await clock.advance(300);
    await expect(call).rejects.toMatchObject({ code: 'unavailable' });
    expect(attempts).toBe(3); // at 0, 100, 200; a fourth at 300 would be past the deadline
    expect(reasons).toEqual(['deadline']);
  });
});
