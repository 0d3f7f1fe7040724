/**
 * The spawner's self-metrics (contract names), one bound set of children per declared task,
 * created and zeroed at start-up so every owner/task pair is visible before it first runs.
 */
import type { Registry } from 'prom-client';
import {
  byLabel,
  CounterVec,
  GaugeVec,
  HistogramVec,
  type CounterChild,
  type GaugeChild,
  type HistogramChild,
} from '../telemetry/metric-vec.js';
import type { TaskDefinition } from './definition.js';
import {
  CANCEL_REASONS,
  ITERATION_OUTCOMES,
  OUTCOMES,
  REJECT_REASONS,
  type CancelReason,
  type IterationOutcome,
  type Outcome,
  type RejectReason,
} from './vocabulary.js';

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const CANCEL_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

export interface TaskInstruments {
  readonly def: TaskDefinition;
  readonly limit: number;
  readonly active: GaugeChild;
  readonly started: CounterChild;
  readonly finished: Record<Outcome, CounterChild>;
  readonly duration: Record<Outcome, HistogramChild>;
  readonly cancellations: Record<CancelReason, CounterChild>;
  readonly cancelDuration: HistogramChild;
  readonly leaked: GaugeChild;
  readonly leakedTotal: CounterChild;
  readonly rejected: Record<RejectReason, CounterChild>;
}

export class TaskMetrics {
  private readonly active: GaugeVec;
  private readonly started: CounterVec;
  private readonly finished: CounterVec;
  private readonly duration: HistogramVec;
  private readonly cancellations: CounterVec;
  private readonly cancelDuration: HistogramVec;
  private readonly leaked: GaugeVec;
  private readonly leakedTotal: CounterVec;
  private readonly rejected: CounterVec;
  private readonly oldest: GaugeVec;
  readonly shutdownDuration: GaugeVec;

  constructor(registry: Registry, oldestAges: () => Map<TaskDefinition, number>) {
    const ot = ['owner', 'task'];
    this.active = new GaugeVec(
      'llm_proxy_tasks_active',
      'Tasks running now (not yet settled).',
      ot,
      registry,
    );
    this.started = new CounterVec('llm_proxy_tasks_started_total', 'Tasks spawned.', ot, registry);
    this.finished = new CounterVec(
      'llm_proxy_tasks_finished_total',
      'Tasks settled, by outcome (completed|failed|cancelled|timed_out).',
      [...ot, 'outcome'],
      registry,
    );
    this.duration = new HistogramVec(
      'llm_proxy_task_duration_seconds',
      'Task run time from spawn to settle, by outcome.',
      [...ot, 'outcome'],
      DURATION_BUCKETS,
      registry,
    );
    this.cancellations = new CounterVec(
      'llm_proxy_task_cancellations_total',
      'Cancellations requested, by reason.',
      [...ot, 'reason'],
      registry,
    );
    this.cancelDuration = new HistogramVec(
      'llm_proxy_task_cancel_duration_seconds',
      'Time from a task being cancelled until it settled.',
      ot,
      CANCEL_BUCKETS,
      registry,
    );
    this.leaked = new GaugeVec(
      'llm_proxy_tasks_leaked',
      'Tasks past their grace period after cancellation and still running.',
      ot,
      registry,
    );
    this.leakedTotal = new CounterVec(
      'llm_proxy_tasks_leaked_total',
      'Tasks ever declared leaked.',
      ot,
      registry,
    );
    this.rejected = new CounterVec(
      'llm_proxy_tasks_rejected_total',
      'Spawns refused, by reason (limit|closed).',
      [...ot, 'reason'],
      registry,
    );
    this.oldest = new GaugeVec(
      'llm_proxy_task_oldest_age_seconds',
      'Age of the oldest live task of each name (0 when none is live).',
      ot,
      registry,
      () => {
        const ages = oldestAges();
        for (const [def, child] of this.oldestChildren) child.set(ages.get(def) ?? 0);
      },
    );
    this.shutdownDuration = new GaugeVec(
      'llm_proxy_shutdown_duration_seconds',
      'Duration of the last drain or shutdown.',
      [],
      registry,
    );
    this.shutdownDuration.labels({});
  }

  private readonly oldestChildren = new Map<TaskDefinition, GaugeChild>();

  bind(def: TaskDefinition): TaskInstruments {
    const l = { owner: def.owner, task: def.task };
    this.oldestChildren.set(def, this.oldest.labels(l));
    return {
      def,
      limit: def.maxConcurrent,
      active: this.active.labels(l),
      started: this.started.labels(l),
      finished: byLabel(OUTCOMES, (outcome) => this.finished.labels({ ...l, outcome })),
      duration: byLabel(OUTCOMES, (outcome) => this.duration.labels({ ...l, outcome })),
      cancellations: byLabel(CANCEL_REASONS, (reason) =>
        this.cancellations.labels({ ...l, reason }),
      ),
      cancelDuration: this.cancelDuration.labels(l),
      leaked: this.leaked.labels(l),
      leakedTotal: this.leakedTotal.labels(l),
      rejected: byLabel(REJECT_REASONS, (reason) => this.rejected.labels({ ...l, reason })),
    };
  }
}

/** What the loop gauges read of a running loop (loops.ts's LoopHealth is one). */
export interface LoopState {
  readonly owner: string;
  readonly task: string;
  readonly intervalMs: number;
  /** Unix ms. */
  readonly startedAt: number;
  /** Unix ms; undefined before the first completed iteration. */
  readonly lastSuccessAt: number | undefined;
}

/** The per-iteration instruments of one loop name (see LoopMetrics). */
export interface LoopInstruments {
  readonly iterations: Record<IterationOutcome, CounterChild>;
  readonly duration: HistogramChild;
}

/**
 * The every() loops' self-metrics. The counter and histogram are bound when a loop of that
 * name first starts (definitions do not say which tasks are loops), all outcomes at 0 from
 * then on. The two gauges are state, read at scrape time from the loops running now: a
 * loop that is not running has no interval and no last success, so neither the
 * LlmProxyLoopStalled alert nor the watchdog can call it stalled.
 */
export class LoopMetrics {
  private readonly iterations: CounterVec;
  private readonly duration: HistogramVec;
  private readonly bound = new Map<TaskDefinition, LoopInstruments>();

  constructor(registry: Registry, running: () => readonly LoopState[]) {
    const ot = ['owner', 'task'];
    this.iterations = new CounterVec(
      'llm_proxy_loop_iterations_total',
      'Runs of every() loops, by outcome (completed|failed|cancelled).',
      [...ot, 'outcome'],
      registry,
    );
    this.duration = new HistogramVec(
      'llm_proxy_loop_iteration_duration_seconds',
      'Run time of one iteration of an every() loop, whatever its outcome.',
      ot,
      DURATION_BUCKETS,
      registry,
    );
    new StateGauge(
      'llm_proxy_loop_last_success_timestamp_seconds',
      'Unix time of the last completed iteration of each running loop (its start until one has).',
      registry,
      () => running().map((l) => [l, (l.lastSuccessAt ?? l.startedAt) / 1000]),
    );
    new StateGauge(
      'llm_proxy_loop_interval_seconds',
      'Configured interval between iterations of each running loop.',
      registry,
      () => running().map((l) => [l, l.intervalMs / 1000]),
    );
  }

  bind(def: TaskDefinition): LoopInstruments {
    let m = this.bound.get(def);
    if (m === undefined) {
      const l = { owner: def.owner, task: def.task };
      m = {
        iterations: byLabel(ITERATION_OUTCOMES, (outcome) =>
          this.iterations.labels({ ...l, outcome }),
        ),
        duration: this.duration.labels(l),
      };
      this.bound.set(def, m);
    }
    return m;
  }
}

/**
 * A gauge over owner/task whose series are computed at each scrape, so a series goes away
 * with what it describes (GaugeVec children live forever). Where two loops of one name run
 * at once, the first listed wins (LoopRegistry lists the stalest first).
 */
class StateGauge {
  readonly type = 'gauge';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
    private readonly read: () => [{ owner: string; task: string }, number][],
  ) {
    // NOTE: the extension point metric-vec.ts uses too: any object with name/help/type/get().
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  get(): { name: string; help: string; type: 'gauge'; aggregator: string; values: unknown[] } {
    const seen = new Set<string>();
    const values: { labels: Record<string, string>; value: number }[] = [];
    for (const [{ owner, task }, value] of this.read()) {
      const key = `${owner}/${task}`;
      if (seen.has(key)) continue;
      seen.add(key);
      values.push({ labels: { owner, task }, value });
    }
    const { name, help, type, aggregator } = this;
    return { name, help, type, aggregator, values };
  }

  /** prom-client calls reset() on registry.resetMetrics(); state has nothing to reset. */
  reset(): void {}
}
