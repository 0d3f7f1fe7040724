import { describe, expect, it } from 'vitest';
import { LaunchPlan, attemptSchedule } from './hedging.js';

const opts = { maxParallel: 3, hedgeDelayMs: 200 };

function starts(schedule: { startAtMs: number | 'on_failure' }[]): (number | 'on_failure')[] {
  return schedule.map((s) => s.startAtMs);
}

describe('attemptSchedule', () => {
  it('numbers entries by candidate position', () => {
    expect(attemptSchedule('hedged', 4, opts).map((s) => s.index)).toEqual([0, 1, 2, 3]);
  });

  it('sequential: the first at once, each next one on failure, whatever maxParallel', () => {
    expect(starts(attemptSchedule('sequential', 3, opts))).toEqual([0, 'on_failure', 'on_failure']);
  });

  it('parallel: up to maxParallel at once, the rest on failure', () => {
    expect(starts(attemptSchedule('parallel', 5, opts))).toEqual([
      0,
      0,
      0,
      'on_failure',
      'on_failure',
    ]);
  });

  it('parallel: everyone at once when there are fewer candidates than maxParallel', () => {
    expect(starts(attemptSchedule('parallel', 2, opts))).toEqual([0, 0]);
  });

  it('hedged: candidate i at i * hedgeDelayMs up to maxParallel, the rest on failure', () => {
    expect(starts(attemptSchedule('hedged', 5, opts))).toEqual([
      0,
      200,
      400,
      'on_failure',
      'on_failure',
    ]);
  });

  it('hedged with maxParallel 1 never hedges: it is sequential', () => {
    const schedule = attemptSchedule('hedged', 3, { maxParallel: 1, hedgeDelayMs: 200 });
    expect(schedule).toEqual(attemptSchedule('sequential', 3, opts));
  });

  it('hedged with hedgeDelayMs 0 is parallel', () => {
    const schedule = attemptSchedule('hedged', 4, { maxParallel: 2, hedgeDelayMs: 0 });
    expect(schedule).toEqual(attemptSchedule('parallel', 4, { maxParallel: 2, hedgeDelayMs: 9 }));
  });

  it('no candidates, no attempts', () => {
    expect(attemptSchedule('parallel', 0, opts)).toEqual([]);
  });

  it.each([
    [-1, opts],
    [1.5, opts],
    [2, { maxParallel: 0, hedgeDelayMs: 0 }],
    [2, { maxParallel: 1.5, hedgeDelayMs: 0 }],
    [2, { maxParallel: 1, hedgeDelayMs: -1 }],
    [2, { maxParallel: 1, hedgeDelayMs: Number.NaN }],
  ])('rejects %d candidates with %o', (count, bad) => {
    expect(() => attemptSchedule('hedged', count, bad)).toThrow(RangeError);
  });
});

describe('LaunchPlan', () => {
  it('sequential: one at a time, each failure starts the next, then nothing is left', () => {
    const plan = new LaunchPlan(attemptSchedule('sequential', 3, opts));
    expect(plan.due(0)).toEqual([0]);
    expect(plan.due(60_000)).toEqual([]);
    expect(plan.nextStartAtMs).toBeUndefined();
    expect(plan.onFailure()).toBe(1);
    expect(plan.onFailure()).toBe(2);
    expect(plan.remaining).toBe(0);
    expect(plan.onFailure()).toBeUndefined();
  });

  it('parallel: the first maxParallel start together, a failure starts the next', () => {
    const plan = new LaunchPlan(attemptSchedule('parallel', 4, { ...opts, maxParallel: 2 }));
    expect(plan.due(0)).toEqual([0, 1]);
    expect(plan.remaining).toBe(2);
    expect(plan.onFailure()).toBe(2);
    expect(plan.due(5_000)).toEqual([]);
    expect(plan.onFailure()).toBe(3);
  });

  it('hedged: a hedge starts at its time while the first is still running', () => {
    const plan = new LaunchPlan(attemptSchedule('hedged', 4, opts));
    expect(plan.due(0)).toEqual([0]);
    expect(plan.nextStartAtMs).toBe(200);
    expect(plan.due(199)).toEqual([]);
    expect(plan.due(200)).toEqual([1]);
    expect(plan.nextStartAtMs).toBe(400);
    expect(plan.due(400)).toEqual([2]);
    expect(plan.nextStartAtMs).toBeUndefined();
    expect(plan.due(10_000)).toEqual([]);
    expect(plan.onFailure()).toBe(3);
  });

  it('hedged: a failure before the hedge time starts the hedge at once, and only once', () => {
    const plan = new LaunchPlan(attemptSchedule('hedged', 3, opts));
    expect(plan.due(0)).toEqual([0]);
    expect(plan.onFailure()).toBe(1);
    expect(plan.nextStartAtMs).toBe(400);
    expect(plan.due(200)).toEqual([]);
    expect(plan.due(400)).toEqual([2]);
  });

  it('hedged: a failure while others run replaces it at once rather than at its time', () => {
    const plan = new LaunchPlan(attemptSchedule('hedged', 3, opts));
    plan.due(200); // 0 and 1 running
    expect(plan.onFailure()).toBe(2);
    expect(plan.remaining).toBe(0);
  });

  it('starts every overdue candidate when the caller wakes late', () => {
    const plan = new LaunchPlan(attemptSchedule('hedged', 5, opts));
    expect(plan.due(450)).toEqual([0, 1, 2]);
    expect(plan.remaining).toBe(2);
  });

  it('an empty plan starts nothing', () => {
    const plan = new LaunchPlan([]);
    expect(plan.due(0)).toEqual([]);
    expect(plan.onFailure()).toBeUndefined();
    expect(plan.nextStartAtMs).toBeUndefined();
  });
});
