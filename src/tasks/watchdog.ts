/**
 * The liveness verdict /healthz answers with: a pure function of what the supervisor reports
 * (running loops, leaked tasks still running) and the watchdog settings. No I/O, no clock:
 * the loops' ages are measured by the supervisor when it lists them.
 */
import type { LoopHealth } from './loops.js';

export interface WatchdogOptions {
  /** Critical loops, "owner/task": one that has not completed an iteration in time fails. */
  readonly loops: readonly string[];
  /** k: a critical loop is stalled when its last completed iteration is over k intervals old. */
  readonly stalledIntervals: number;
  /** Leaked tasks still running at or above which liveness fails; 0 turns that check off. */
  readonly leakedTasksThreshold: number;
}

/** A critical loop past its k intervals, as /healthz names it. */
export interface StalledLoop {
  owner: string;
  task: string;
  /** Since the last completed iteration, or since the loop started if none has. */
  lastSuccessAgeSeconds: number;
  intervalSeconds: number;
  /** ISO time of the last completed iteration; null before the first. */
  lastSuccessAt: string | null;
}

export type Liveness =
  | { status: 'ok' }
  | {
      status: 'stalled' | 'leaking';
      /** The stalled critical loops (empty when only the leak threshold is crossed). */
      loops: StalledLoop[];
      /** Present when the leak threshold is crossed. */
      leakedTasks?: { running: number; threshold: number };
    };

const OK: Liveness = { status: 'ok' };

/** Whether the process is alive: `ok`, or what is wrong, stalled loops first. */
export function liveness(
  loops: readonly LoopHealth[],
  leakedRunning: number,
  o: WatchdogOptions,
): Liveness {
  const stalled: StalledLoop[] = [];
  for (const loop of loops) {
    if (!o.loops.includes(`${loop.owner}/${loop.task}`)) continue;
    if (loop.sinceSuccessMs <= o.stalledIntervals * loop.intervalMs) continue;
    stalled.push({
      owner: loop.owner,
      task: loop.task,
      lastSuccessAgeSeconds: Math.round(loop.sinceSuccessMs) / 1000,
      intervalSeconds: loop.intervalMs / 1000,
      lastSuccessAt:
        loop.lastSuccessAt === undefined ? null : new Date(loop.lastSuccessAt).toISOString(),
    });
  }
  const leaking = o.leakedTasksThreshold > 0 && leakedRunning >= o.leakedTasksThreshold;
  if (stalled.length === 0 && !leaking) return OK;
  return {
    status: stalled.length > 0 ? 'stalled' : 'leaking',
    loops: stalled,
    ...(leaking
      ? { leakedTasks: { running: leakedRunning, threshold: o.leakedTasksThreshold } }
      : {}),
  };
}
