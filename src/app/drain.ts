/**
 * The drain sequence: stop taking proxy traffic, let in-flight requests finish, flush the
 * caches' Redis writes, stop their loops, then cancel what is left and count what leaked.
 * Each step gets what is left of one deadline (at least 50 ms).
 *
 * The summary's cancellation figures are the rise of the supervisor's cancellation counters
 * across the whole drain (the cache loops closed with `scope_closed`, request attempts that
 * lost a race while finishing, the rest cancelled with `shutdown`), so they equal the rise of
 * llm_proxy_task_cancellations_total by construction.
 */
import type { UnifiedCache } from '../cache/index.js';
import type { ResponseStore } from '../cache/response-store.js';
import type { CondenserCache } from '../condense/index.js';
import type { CancelReason, Scope, Supervisor } from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';

export type AppState = 'starting' | 'ready' | 'draining' | 'stopped';

export interface DrainSummary {
  state: AppState;
  durationMs: number;
  inFlightAtStart: number;
  requestsFinished: boolean;
  cacheWrites: { written: number; pending: number };
  /** Every task cancelled during the drain: the rise of llm_proxy_task_cancellations_total. */
  cancelledTasks: number;
  /** The same, by cancellation reason (reasons with none left out). */
  cancelledByReason: Partial<Record<CancelReason, number>>;
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
  responseStore: ResponseStore | undefined;
  /** Told 'draining' at once (proxy routes answer 503 from then on), 'stopped' at the end. */
  setState: (state: AppState) => void;
}

export async function drainApp(d: Drained, deadlineMs: number): Promise<DrainSummary> {
  const { supervisor, httpScope, cache, condenserCache, responseStore } = d;
  const started = performance.now();
  const cancelledBefore = supervisor.cancellationsByReason();
  const left = (): number => Math.max(50, deadlineMs - (performance.now() - started));
  d.setState('draining');
  const inFlightAtStart = httpScope.ownTasks;
  const requestsFinished = await httpScope.idle(left());
  const flushed = (await cache?.flush(left())) ?? { written: 0, pending: 0 };
  await condenserCache?.flush(left());
  await responseStore?.flush(left());
  await Promise.all([
    cache?.stop(left()),
    condenserCache?.stop(left()),
    responseStore?.stop(left()),
  ]);
  const rest = await supervisor.shutdown(left());
  // Out of time with tasks ignoring their cancellation: their grace periods decide, so
  // each is declared leaked (counted, logged, in the exit code) before the summary.
  if (rest.unsettled > 0) await supervisor.awaitLeakVerdicts();
  const cancelled = cancellationsSince(supervisor, cancelledBefore);
  const durationMs = performance.now() - started;
  supervisor.recordShutdown(durationMs / 1000);
  d.setState('stopped');
  const summary: DrainSummary = {
    state: 'stopped',
    durationMs: Math.round(durationMs),
    inFlightAtStart,
    requestsFinished,
    cacheWrites: { written: flushed.written, pending: flushed.pending },
    cancelledTasks: cancelled.total,
    cancelledByReason: cancelled.byReason,
    unsettledTasks: rest.unsettled,
    activeTasks: supervisor.liveCount(),
    leakedTotal: supervisor.leakedTotal(),
  };
  d.logger.info(summary, 'drained');
  return summary;
}

/** The rise of the cancellation counters since `before`, in total and by reason. */
function cancellationsSince(
  supervisor: Supervisor,
  before: Record<CancelReason, number>,
): { total: number; byReason: Partial<Record<CancelReason, number>> } {
  const now = supervisor.cancellationsByReason();
  const byReason: Partial<Record<CancelReason, number>> = {};
  let total = 0;
  for (const reason of Object.keys(now) as CancelReason[]) {
    const rise = now[reason] - before[reason];
    if (rise > 0) byReason[reason] = rise;
    total += rise;
  }
  return { total, byReason };
}
