/**
 * The one instrumented spawner. Every task in the process is created under its root scope,
 * from a name declared up front; it owns the task metrics, spans, leak reports and the
 * shutdown timing.
 */
import { ROOT_CONTEXT, type Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { byLabel } from '../telemetry/metric-vec.js';
import type { TaskDefinition, TaskDefinitionOptions } from './definition.js';
import { UndeclaredTaskError } from './errors.js';
import { LoopMetrics, TaskMetrics, type TaskInstruments } from './instruments.js';
import { LoopRegistry, type LoopHealth } from './loops.js';
import type { Runtime, TaskErrorHandler } from './runtime.js';
import { Scope, type CloseSummary } from './scope.js';
import type { TaskSnapshot } from './task.js';
import { CANCEL_REASONS, type CancelReason } from './vocabulary.js';

export interface SupervisorOptions {
  registry: Registry;
  logger: Logger;
  /** Every task name this process may spawn. Metrics for each exist (at 0) from the start. */
  tasks: readonly TaskDefinition[];
  /** Per-name limits from config, keyed "owner/task". */
  overrides?: Readonly<Record<string, TaskDefinitionOptions>>;
  /** OTel tracer; when absent no spans are made at all (not even no-op ones). */
  tracer?: Tracer | undefined;
  /** Receives every failure of every task; defaults to an error log line. */
  onError?: TaskErrorHandler;
  /** Capture a full stack per spawn (costly); by default only the declaration site is kept. */
  captureSpawnStacks?: boolean;
}

export class Supervisor {
  readonly root: Scope;
  private readonly bound = new Map<TaskDefinition, TaskInstruments>();
  private readonly metrics: TaskMetrics;
  private readonly loops: LoopRegistry;
  private ids = 0;

  constructor(options: SupervisorOptions) {
    const { registry, logger, tracer } = options;
    this.metrics = new TaskMetrics(registry, () => this.oldestAges());
    const loopMetrics = new LoopMetrics(registry, () => this.loops.health());
    this.loops = new LoopRegistry((def) => loopMetrics.bind(def));
    for (const declared of options.tasks) {
      const override = options.overrides?.[`${declared.owner}/${declared.task}`];
      const def: TaskDefinition =
        override === undefined
          ? declared
          : Object.freeze({
              ...declared,
              graceMs: override.graceMs ?? declared.graceMs,
              maxConcurrent: override.maxConcurrent ?? declared.maxConcurrent,
            });
      // Instruments are looked up by the declared object: that is what call sites hold.
      this.bound.set(declared, this.metrics.bind(def));
    }
    const onError: TaskErrorHandler =
      options.onError ??
      ((err, t) =>
        logger.error({ err, owner: t.owner, task: t.task, taskId: t.id }, 'task failed'));
    const runtime: Runtime = {
      instruments: (def) => {
        const m = this.bound.get(def);
        if (m === undefined) throw new UndeclaredTaskError(def.owner, def.task);
        return m;
      },
      loops: this.loops,
      tracer,
      logger,
      onError,
      captureSpawnStacks: options.captureSpawnStacks ?? false,
      nextId: () => ++this.ids,
      rootContext: ROOT_CONTEXT,
    };
    this.root = new Scope(runtime, 'root', ROOT_CONTEXT);
  }

  /** A named child of the root scope, one per component (or "http" for requests). */
  scope(name: string): Scope {
    return this.root.scope(name);
  }

  snapshot(): TaskSnapshot[] {
    return this.root.snapshot();
  }

  /** Tasks spawned and not yet settled, leaked ones included. */
  liveCount(): number {
    return this.root.count();
  }

  /**
   * The every() loops running now, each with its interval and its last completed iteration
   * (the watchdog's input), the longest without one first. A loop that ended is not listed.
   */
  loopHealth(): LoopHealth[] {
    return this.loops.health();
  }

  /** Tasks declared leaked and still running (the sum of llm_proxy_tasks_leaked). */
  leakedRunning(): number {
    let n = 0;
    for (const m of this.bound.values()) n += m.leaked.value;
    return n;
  }

  /** Cancels everything with reason "shutdown" and waits up to the deadline. */
  shutdown(deadlineMs = 10_000): Promise<CloseSummary> {
    return this.root.close('shutdown', deadlineMs);
  }

  /**
   * Waits until every task still running has settled or been declared leaked: at most the
   * longest grace period among them, as each one's leak timer runs from its cancellation.
   * For a shutdown whose deadline ran out: a task ignoring its cancellation is then counted
   * and logged as leaked (and the exit code says so) instead of being cut off unreported.
   */
  async awaitLeakVerdicts(): Promise<void> {
    let graceMs = 0;
    this.root.walk((t) => {
      if (!t.leaked) graceMs = Math.max(graceMs, t.graceMs);
    });
    if (graceMs > 0) await this.root.idle(graceMs);
  }

  /** The longest grace period of any declared task (bounds awaitLeakVerdicts). */
  maxGraceMs(): number {
    let graceMs = 0;
    for (const m of this.bound.values()) graceMs = Math.max(graceMs, m.def.graceMs);
    return graceMs;
  }

  /** Records the duration of the last drain or shutdown (llm_proxy_shutdown_duration_seconds). */
  recordShutdown(seconds: number): void {
    this.metrics.shutdownDuration.labels({}).set(seconds);
  }

  /**
   * Cancellations requested so far, by reason, summed over every task name: the running
   * totals of llm_proxy_task_cancellations_total (the same counters, so a difference taken
   * across a drain equals the metric's rise by construction).
   */
  cancellationsByReason(): Record<CancelReason, number> {
    const out = byLabel(CANCEL_REASONS, () => 0);
    for (const m of this.bound.values()) {
      for (const r of CANCEL_REASONS) out[r] += m.cancellations[r].value;
    }
    return out;
  }

  /** Sum of leaked_total over all names (used by process exit codes). */
  leakedTotal(): number {
    let n = 0;
    for (const m of this.bound.values()) n += m.leakedTotal.value;
    return n;
  }

  private oldestAges(): Map<TaskDefinition, number> {
    const now = performance.now();
    const byName = new Map<string, number>();
    this.root.walk((t) => {
      const key = `${t.owner}/${t.task}`;
      byName.set(key, Math.max(byName.get(key) ?? 0, (now - t.startedAt) / 1000));
    });
    const out = new Map<TaskDefinition, number>();
    for (const m of this.bound.values()) {
      const age = byName.get(`${m.def.owner}/${m.def.task}`);
      if (age !== undefined) out.set(m.def, age);
    }
    return out;
  }
}
