/**
 * The fallback engine: orders a model's candidates by health and priority, then runs them
 * sequentially, in parallel (first success wins; losers cancelled with `lost_race`) or
 * hedged (the next one starts after hedgeDelayMs without an answer). Every branch is a
 * `fallback_engine/attempt` task in the request's own scope. When every candidate has
 * failed the caller hears at once, with a RoutingFailure that summarises each attempt
 * (http/ answers it with a 502/503/504).
 */
import type { RoutingConfig } from '../config/index.js';
import type { Provider } from '../upstream/index.js';
import {
  Cancellation,
  FALLBACK_ATTEMPT,
  sleep,
  TaskRejectedError,
  type TaskContext,
  type TaskHandle,
} from '../tasks/index.js';
import type { ProxyMetrics } from '../telemetry/proxy-metrics.js';
import {
  BreakerOpenError,
  classify,
  CoolingDownError,
  runAttempt,
  type Answer,
  type CooldownGate,
  type Operation,
} from './attempt.js';
import { RoutingFailure } from './failure.js';
import {
  attemptSchedule,
  CircuitBreaker,
  LaunchPlan,
  orderCandidates,
  summarizeAttempts,
  type AttemptRecord,
  type ProviderHealth,
  type ScheduledAttempt,
} from './policy/index.js';

export interface Win<T extends Answer> {
  provider: string;
  answer: T;
  /**
   * Ends the winner's attempt task (after a stream has been relayed) and resolves once it
   * has settled, so the request's task never finishes ahead of its own children.
   */
  release(): Promise<void>;
  attempts: readonly AttemptRecord[];
}

export interface EngineDeps {
  providers: readonly Provider[];
  routing: RoutingConfig;
  metrics: ProxyMetrics;
  health: (provider: string) => ProviderHealth;
  /** Rate-limit cooldowns: a provider cooling down is skipped like an open breaker. */
  cooldowns: CooldownGate;
}

export class FallbackEngine {
  readonly breakers = new Map<string, CircuitBreaker>();
  private readonly byName = new Map<string, Provider>();
  /** Start plans by candidate count: the routing config is fixed, and LaunchPlan only reads. */
  private readonly schedules = new Map<number, readonly ScheduledAttempt[]>();

  constructor(private readonly deps: EngineDeps) {
    for (const p of deps.providers) {
      this.byName.set(p.name, p);
      const gauge = deps.metrics.provider(p.name).breaker;
      const { failureThreshold, openMs, halfOpenMaxTrials } = deps.routing.breaker;
      this.breakers.set(
        p.name,
        new CircuitBreaker({
          failureThreshold,
          openMs,
          halfOpenMaxTrials,
          onStateChange: (_from, to) => gauge.set(to === 'closed' ? 0 : to === 'half_open' ? 1 : 2),
        }),
      );
    }
  }

  /** A provider's name and type (for trace attributes). */
  provider(name: string): { name: string; type: string } {
    const p = this.byName.get(name);
    return { name, type: p?.config.type ?? 'unknown' };
  }

  /** Whether any enabled provider serves this model. */
  serves(model: string): boolean {
    return this.deps.providers.some((p) => p.config.enabled && p.config.models.includes(model));
  }

  candidates(model: string): Provider[] {
    const infos = this.deps.providers.map((p) => ({
      name: p.name,
      priority: p.config.priority,
      models: p.config.models,
      enabled: p.config.enabled,
      health: this.deps.health(p.name),
      breaker: this.breakers.get(p.name)!.state,
      coolingDown: this.deps.cooldowns.remainingMs(p.name) > 0,
    }));
    return orderCandidates({ model, providers: infos }).map((c) => this.byName.get(c.name)!);
  }

  /** Runs `op` against the model's candidates inside the request task `req`. */
  run<T extends Answer>(req: TaskContext, model: string, op: Operation<T>): Promise<Win<T>> {
    if (!this.serves(model)) {
      return Promise.reject(new RoutingFailure({ kind: 'unknown_model', model }));
    }
    const candidates = this.candidates(model);
    const plan = new LaunchPlan(this.schedule(candidates.length));
    return new Race(this.deps, this.breakers, req, candidates, plan, op).start();
  }

  private schedule(candidateCount: number): readonly ScheduledAttempt[] {
    let schedule = this.schedules.get(candidateCount);
    if (schedule === undefined) {
      const { mode, maxParallel, hedgeDelayMs } = this.deps.routing;
      schedule = attemptSchedule(mode, candidateCount, { maxParallel, hedgeDelayMs });
      this.schedules.set(candidateCount, schedule);
    }
    return schedule;
  }
}

class Race<T extends Answer> {
  private readonly started = performance.now();
  private readonly records: AttemptRecord[] = [];
  private readonly handles = new Map<string, TaskHandle<void>>();
  private running = 0;
  private decided = false;
  private winner: string | undefined;
  private resolve!: (win: Win<T>) => void;
  private reject!: (err: unknown) => void;
  private stopHedging: Cancellation | undefined;

  constructor(
    private readonly deps: EngineDeps,
    private readonly breakers: Map<string, CircuitBreaker>,
    private readonly req: TaskContext,
    private readonly candidates: Provider[],
    private readonly plan: LaunchPlan,
    private readonly op: Operation<T>,
  ) {}

  start(): Promise<Win<T>> {
    const result = new Promise<Win<T>>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    for (const i of this.plan.due(0)) this.launch(i);
    if (!this.decided && this.plan.nextStartAtMs !== undefined) {
      this.stopHedging = new Cancellation();
      // The hedge timer only launches attempts; if it ever threw, the request must hear of it.
      void this.hedge(this.stopHedging).catch((err: unknown) => {
        if (!this.decided) {
          this.decide();
          this.reject(err);
        }
      });
    }
    return result;
  }

  private async hedge(stop: Cancellation): Promise<void> {
    const unhook = this.req.onCancel((reason) => stop.abort(reason));
    try {
      for (
        let at = this.plan.nextStartAtMs;
        at !== undefined && !this.decided;
        at = this.plan.nextStartAtMs
      ) {
        if (!(await sleep(Math.max(0, at - (performance.now() - this.started)), stop))) return;
        if (this.decided) return;
        for (const i of this.plan.due(performance.now() - this.started)) this.launch(i);
      }
    } finally {
      unhook();
    }
  }

  private launch(index: number): void {
    const provider = this.candidates[index]!;
    const metrics = this.deps.metrics.provider(provider.name);
    const t0 = performance.now();
    let handle: TaskHandle<void>;
    try {
      handle = this.req.scope.spawn(FALLBACK_ATTEMPT, (actx) =>
        runAttempt(
          {
            provider,
            breaker: this.breakers.get(provider.name)!,
            cooldowns: this.deps.cooldowns,
            metrics,
            retries: this.deps.routing.retries,
          },
          this.op,
          actx,
          actx.otelContext,
          (answer) => this.offer(provider.name, answer),
        ),
      );
    } catch (err) {
      if (!(err instanceof TaskRejectedError)) throw err;
      this.failed(provider.name, 'cancelled', undefined, 'not started: request closing', t0);
      return;
    }
    this.running++;
    this.handles.set(provider.name, handle);
    void handle.settled.then((result) => {
      this.running--;
      // The winner's task ends when its answer has been relayed; if the client left first it
      // ends cancelled, but it won all the same and is not counted again as lost.
      if (result.outcome === 'completed' || provider.name === this.winner) return;
      if (result.outcome === 'failed') {
        const e = classify(result.error, this.req);
        metrics.attempts.failed.inc();
        if (!this.decided && e.requestFault !== undefined) {
          this.decide();
          const { requestFault: fault } = e;
          this.reject(
            new RoutingFailure({ kind: 'request_fault', provider: provider.name, fault, error: e }),
          );
          return;
        }
        this.failed(
          provider.name,
          e instanceof BreakerOpenError
            ? 'breaker_open'
            : e instanceof CoolingDownError
              ? 'cooling_down'
              : e.kind,
          e.status,
          e.message,
          t0,
          e.retryAfterMs,
        );
        return;
      }
      metrics.attempts.lost.inc();
      this.failed(provider.name, 'cancelled', undefined, result.reason, t0);
    });
  }

  /** An attempt has an answer: the first one wins; later ones lose and are closed. */
  private offer(provider: string, answer: T): Promise<void> | undefined {
    if (this.decided) return undefined;
    this.winner = provider;
    this.decide(provider);
    const metrics = this.deps.metrics.provider(provider);
    metrics.attempts.won.inc();
    let unhold!: () => void;
    const held = new Promise<void>((r) => (unhold = r));
    const release = async (): Promise<void> => {
      unhold();
      await this.handles.get(provider)?.settled;
    };
    this.resolve({ provider, answer, release, attempts: this.records });
    return held;
  }

  /** Ends the race: no more launches; every branch but the winner's is cancelled. */
  private decide(winner?: string): void {
    this.decided = true;
    this.stopHedging?.abort('decided');
    for (const [name, h] of this.handles) if (name !== winner) h.cancel('lost_race');
  }

  private failed(
    provider: string,
    outcome: AttemptRecord['outcome'],
    status: number | undefined,
    message: string,
    t0: number,
    retryAfterMs?: number,
  ): void {
    this.records.push({
      provider,
      outcome,
      status,
      message,
      durationMs: Math.round(performance.now() - t0),
      retryAfterMs,
    });
    if (this.decided) return;
    const next = this.plan.onFailure();
    if (next !== undefined) {
      this.launch(next);
      return;
    }
    if (this.running > 0) return;
    this.decide();
    const summary = summarizeAttempts(this.records);
    this.reject(new RoutingFailure({ kind: 'exhausted', summary, attempts: [...this.records] }));
  }
}
