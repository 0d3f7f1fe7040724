import { describe, expect, it } from 'vitest';
import type { LoopHealth } from './loops.js';
import { liveness, type WatchdogOptions } from './watchdog.js';

const OPTIONS: WatchdogOptions = {
  loops: ['health_checker/loop'],
  stalledIntervals: 3,
  leakedTasksThreshold: 0,
};

const loop = (over: Partial<LoopHealth> = {}): LoopHealth => ({
  owner: 'health_checker',
  task: 'loop',
  intervalMs: 1_000,
  startedAt: Date.UTC(2026, 0, 1),
  lastSuccessAt: Date.UTC(2026, 0, 1, 0, 0, 5),
  sinceSuccessMs: 1_200,
  ...over,
});

describe('liveness', () => {
  it('is ok while every critical loop completed an iteration within k intervals', () => {
    expect(liveness([loop({ sinceSuccessMs: 3_000 })], 0, OPTIONS)).toEqual({ status: 'ok' });
  });

  it('names a critical loop past k intervals, with its age, interval and last success', () => {
    expect(liveness([loop({ sinceSuccessMs: 3_001 })], 0, OPTIONS)).toEqual({
      status: 'stalled',
      loops: [
        {
          owner: 'health_checker',
          task: 'loop',
          lastSuccessAgeSeconds: 3.001,
          intervalSeconds: 1,
          lastSuccessAt: '2026-01-01T00:00:05.000Z',
        },
      ],
    });
  });

  it('counts from the loop start when no iteration ever completed', () => {
    const verdict = liveness(
      [loop({ lastSuccessAt: undefined, sinceSuccessMs: 4_000 })],
      0,
      OPTIONS,
    );
    expect(verdict).toMatchObject({ status: 'stalled', loops: [{ lastSuccessAt: null }] });
  });

  it('ignores loops that are not critical, and critical loops that are not running', () => {
    const cleanup = loop({ owner: 'unified_cache', task: 'cleanup', sinceSuccessMs: 60_000 });
    expect(liveness([cleanup], 0, OPTIONS)).toEqual({ status: 'ok' });
    expect(liveness([], 0, OPTIONS)).toEqual({ status: 'ok' });
    expect(liveness([cleanup], 0, { ...OPTIONS, loops: ['unified_cache/cleanup'] })).toMatchObject({
      status: 'stalled',
      loops: [{ owner: 'unified_cache', task: 'cleanup' }],
    });
  });

  it('fails on leaked tasks only when a threshold is set and reached', () => {
    expect(liveness([loop()], 5, OPTIONS)).toEqual({ status: 'ok' });
    const withThreshold = { ...OPTIONS, leakedTasksThreshold: 2 };
    expect(liveness([loop()], 1, withThreshold)).toEqual({ status: 'ok' });
    expect(liveness([loop()], 2, withThreshold)).toEqual({
      status: 'leaking',
      loops: [],
      leakedTasks: { running: 2, threshold: 2 },
    });
    expect(liveness([loop({ sinceSuccessMs: 9_000 })], 2, withThreshold)).toMatchObject({
      status: 'stalled',
      leakedTasks: { running: 2, threshold: 2 },
    });
  });
});
