/**
 * The drain sequence: stop taking proxy traffic, let in-flight requests finish, flush the
 * caches' Redis writes, stop their loops, then cancel what is left and count what leaked.
 * Each step gets what is left of one deadline (at least 50 ms).
 */
import type { UnifiedCache } from '../cache/index.js';
import type { CondenserCache } from '../condense/index.js';
import type { Scope, Supervisor } from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';

export type AppState = 'starting' | 'ready' | 'draining' | 'stopped';

export interface DrainSummary {
  state: AppState;
  durationMs: number;
  inFlightAtStart: number;
  requestsFinished: boolean;
  cacheWrites: { written: number; pending: number };
  cancelledTasks: number;
  unsettledTasks: number;
  activeTasks: number;
  leakedTotal: number;
}

export interface Drained {
  supervisor: Supervisor;
  logger: Logger;
  /** The request tasks' scope. */
  httpScope: Scope;
  cache: UnifiedCache | undefined;
  condenserCache: CondenserCache | undefined;
  /** Told 'draining' at once (proxy routes answer 503 from then on), 'stopped' at the end. */
  setState: (state: AppState) => void;
}

export async function drainApp(d: Drained, deadlineMs: number): Promise<DrainSummary> {
  const { supervisor, httpScope, cache, condenserCache } = d;
  const started = performance.now();
  const left = (): number => Math.max(50, deadlineMs - (performance.now() - started));
  d.setState('draining');
  const inFlightAtStart = httpScope.ownTasks;
  const requestsFinished = await httpScope.idle(left());
  const flushed = (await cache?.flush(left())) ?? { written: 0, pending: 0 };
  await condenserCache?.flush(left());
  await Promise.all([cache?.stop(left()), condenserCache?.stop(left())]);
  const rest = await supervisor.shutdown(left());
  // Out of time with tasks ignoring their cancellation: their grace periods decide, so
  // each is declared leaked (counted, logged, in the exit code) before the summary.
  if (rest.unsettled > 0) await supervisor.awaitLeakVerdicts();
  const durationMs = performance.now() - started;
  supervisor.recordShutdown(durationMs / 1000);
  d.setState('stopped');
  const summary: DrainSummary = {
    state: 'stopped',
    durationMs: Math.round(durationMs),
    inFlightAtStart,
    requestsFinished,
    cacheWrites: { written: flushed.written, pending: flushed.pending },
    cancelledTasks: rest.cancelled,
    unsettledTasks: rest.unsettled,
    activeTasks: supervisor.liveCount(),
    leakedTotal: supervisor.leakedTotal(),
  };
  d.logger.info(summary, 'drained');
  return summary;
}
