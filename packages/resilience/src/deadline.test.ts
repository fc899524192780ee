import { createVirtualClock } from '@sluice/testing';
import { describe, expect, it } from 'vitest';
import { currentDeadline, Deadline, withDeadline } from './deadline.js';
import { DeadlineExceededError } from './errors.js';
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
});
