/**
 * When each candidate of a request starts, per routing mode. `attemptSchedule` is the plan;
 * `LaunchPlan` walks it as time passes and attempts fail, so the runner only has to start
 * what it is told and sleep until `nextStartAtMs`.
 *
 * The rule, for every mode: candidates start in order. A candidate with a time starts when
 * that much time has passed since the request began; every candidate that fails for good
 * immediately starts the next one not yet started, whatever its time. So a failure is
 * replaced at once, never more attempts run than the schedule has timed entries, and the
 * request never sits idle while candidates remain.
 *
 * - sequential: the first at 0, each next one when the previous fails.
 * - parallel: the first min(maxParallel, n) at 0, the rest as earlier ones fail.
 * - hedged: candidate i < maxParallel at i * hedgeDelayMs (a hedge against a slow first
 *   answer), the rest as earlier ones fail. maxParallel caps how many run at once; a
 *   failure before a hedge's time starts that hedge early.
 */

export type RoutingMode = 'sequential' | 'parallel' | 'hedged';

export interface ScheduledAttempt {
  /** Position in the ordered candidate list. */
  index: number;
  /** Milliseconds after the request began, or only when an earlier attempt fails. */
  startAtMs: number | 'on_failure';
}

export interface ScheduleOptions {
  /** Attempts running at once in parallel and hedged modes; an integer >= 1. */
  maxParallel: number;
  /** Hedged mode: the gap between successive hedges; >= 0. */
  hedgeDelayMs: number;
}

/** The start plan for `candidateCount` ordered candidates (see the module comment). */
export function attemptSchedule(
  mode: RoutingMode,
  candidateCount: number,
  opts: ScheduleOptions,
): ScheduledAttempt[] {
  if (!Number.isInteger(candidateCount) || candidateCount < 0) {
    throw new RangeError(`candidateCount must be an integer >= 0, got ${candidateCount}`);
  }
  if (!Number.isInteger(opts.maxParallel) || opts.maxParallel < 1) {
    throw new RangeError(`maxParallel must be an integer >= 1, got ${opts.maxParallel}`);
  }
  if (!(opts.hedgeDelayMs >= 0)) {
    throw new RangeError(`hedgeDelayMs must be >= 0, got ${opts.hedgeDelayMs}`);
  }
  const timed = mode === 'sequential' ? 1 : opts.maxParallel;
  const gap = mode === 'hedged' ? opts.hedgeDelayMs : 0;
  return Array.from({ length: candidateCount }, (_, index) => ({
    index,
    startAtMs: index < timed ? index * gap : 'on_failure',
  }));
}

/**
 * Walks a schedule from `attemptSchedule`: which candidates to start now. Pure state, no
 * clock of its own; the runner passes the elapsed time.
 */
export class LaunchPlan {
  readonly #schedule: readonly ScheduledAttempt[];
  #next = 0;

  constructor(schedule: readonly ScheduledAttempt[]) {
    this.#schedule = schedule;
  }

  /** Candidates not yet started. */
  get remaining(): number {
    return this.#schedule.length - this.#next;
  }

  /**
   * When `due()` next has something to start, in ms since the request began; undefined
   * when only a failure can start more (or nothing remains).
   */
  get nextStartAtMs(): number | undefined {
    const at = this.#schedule[this.#next]?.startAtMs;
    return typeof at === 'number' ? at : undefined;
  }

  /** The candidates whose time has come by `elapsedMs` (several if the caller woke late). */
  due(elapsedMs: number): number[] {
    const started: number[] = [];
    for (;;) {
      const entry = this.#schedule[this.#next];
      if (entry === undefined || entry.startAtMs === 'on_failure') return started;
      if (entry.startAtMs > elapsedMs) return started;
      started.push(entry.index);
      this.#next += 1;
    }
  }

  /**
   * A started candidate failed for good (its own retries are over): the next candidate
   * starts now, ahead of its time if it had one. Undefined when none remains. A candidate
   * cancelled as a race loser is not a failure and must not be reported here.
   */
  onFailure(): number | undefined {
    const entry = this.#schedule[this.#next];
    if (entry === undefined) return undefined;
    this.#next += 1;
    return entry.index;
  }
}
