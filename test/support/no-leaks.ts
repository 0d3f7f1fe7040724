/**
 * In the spirit of Go's goleak: after a test, every task of the app has settled, none ever
 * leaked, and Node's active resources (sockets, servers, timers) are back to the baseline
 * taken before the test started. Sockets close asynchronously, so it polls briefly. The
 * spawner's own timers are counted exactly (`liveTimers`): Node's census lists only ref'd
 * timers, by type, so it would miss an unref'd deadline timer left armed.
 */
import type { App } from '../../src/app.js';
import { liveTimers } from '../../src/tasks/timers.js';

/** The census entry for the spawner's own timers (armTimer, sleep), counted exactly. */
const SPAWNER_TIMERS = 'spawner timers';

export type ResourceBaseline = Map<string, number>;

function census(): ResourceBaseline {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  counts.set(SPAWNER_TIMERS, liveTimers());
  return counts;
}

export function resourceBaseline(): ResourceBaseline {
  return census();
}

function excess(baseline: ResourceBaseline): string[] {
  const out: string[] = [];
  for (const [type, n] of census()) {
    const before = baseline.get(type) ?? 0;
    if (n > before) out.push(`${type}: ${n} now, ${before} before`);
  }
  return out;
}

export interface NoLeakOptions {
  timeoutMs?: number;
}

export async function expectNoLeaks(
  apps: readonly App[],
  baseline: ResourceBaseline,
  { timeoutMs = 3_000 }: NoLeakOptions = {},
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const live = apps.reduce((n, a) => n + a.supervisor.liveCount(), 0);
    const extra = excess(baseline);
    if (live === 0 && extra.length === 0) break;
    if (Date.now() > until) {
      const tasks = apps.flatMap((a) => a.supervisor.snapshot());
      throw new Error(
        `leak check failed after ${timeoutMs} ms:\n` +
          (live > 0 ? `  ${live} live task(s): ${JSON.stringify(tasks)}\n` : '') +
          (extra.length > 0 ? `  active resources above baseline: ${extra.join('; ')}\n` : ''),
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const leaked = apps.reduce((n, a) => n + a.supervisor.leakedTotal(), 0);
  if (leaked > 0) throw new Error(`leak check failed: ${leaked} task(s) were declared leaked`);
}
