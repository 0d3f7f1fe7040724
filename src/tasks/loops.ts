/**
 * The every() loops running now, each with its interval and the time of its last completed
 * iteration: what the watchdog (/healthz) and the loop gauges read. A loop is listed from
 * its start until its task settles; one that is not running is not listed, so nothing can
 * call it stalled.
 */
import type { TaskDefinition } from './definition.js';
import type { LoopInstruments, LoopState } from './instruments.js';
import type { IterationOutcome } from './vocabulary.js';

/** One running loop, as the supervisor reports it. */
export interface LoopHealth extends LoopState {
  /** Ms since the last completed iteration, or since the start if none has (monotonic). */
  readonly sinceSuccessMs: number;
}

/** One running loop's bookkeeping: its iterations' metrics and its last success. */
export class LoopRecord {
  private readonly startedAt = Date.now();
  private readonly startedMono = performance.now();
  private lastSuccessAt: number | undefined;
  private lastSuccessMono: number | undefined;
  private iterations = 0;

  constructor(
    readonly def: TaskDefinition,
    readonly intervalMs: number,
    private readonly m: LoopInstruments,
  ) {}

  /** The 1-based number of the iteration about to run. */
  next(): number {
    return ++this.iterations;
  }

  /** Counts one finished iteration; a completed one is the loop's new last success. */
  finished(outcome: IterationOutcome, durationMs: number): void {
    this.m.iterations[outcome].inc();
    this.m.duration.observe(durationMs / 1000);
    if (outcome !== 'completed') return;
    this.lastSuccessAt = Date.now();
    this.lastSuccessMono = performance.now();
  }

  health(now: number): LoopHealth {
    return {
      owner: this.def.owner,
      task: this.def.task,
      intervalMs: this.intervalMs,
      startedAt: this.startedAt,
      lastSuccessAt: this.lastSuccessAt,
      sinceSuccessMs: now - (this.lastSuccessMono ?? this.startedMono),
    };
  }
}

export class LoopRegistry {
  private readonly running = new Set<LoopRecord>();

  constructor(private readonly instruments: (def: TaskDefinition) => LoopInstruments) {}

  /** Lists a loop from now until end(). */
  start(def: TaskDefinition, intervalMs: number): LoopRecord {
    const record = new LoopRecord(def, intervalMs, this.instruments(def));
    this.running.add(record);
    return record;
  }

  end(record: LoopRecord): void {
    this.running.delete(record);
  }

  /** The running loops, the longest without a completed iteration first. */
  health(now = performance.now()): LoopHealth[] {
    return [...this.running]
      .map((r) => r.health(now))
      .sort((a, b) => b.sinceSuccessMs - a.sinceSuccessMs);
  }
}
