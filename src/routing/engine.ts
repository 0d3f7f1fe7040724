/**
 * The fallback engine: orders a model's candidates by health and priority, then runs them
 * sequentially, in parallel (first success wins; losers cancelled with `lost_race`) or
 * hedged (the next one starts after hedgeDelayMs without an answer). Every branch is a
 * `fallback_engine/attempt` task in the request's own scope, and so is the hedge timer (a
 * `fallback_engine/hedge` task, cancelled with `lost_race` once the race is decided, so its
 * waits show in the task metrics and traces). When every candidate has
 * failed the caller hears at once, with a RoutingFailure that summarises each attempt
 * (http/ answers it with a 502/503/504).
 *
 * The winning answer is consumed inside the winning attempt's task: `run` takes the
 * consumer with the operation, the attempt holds its upstream (a stream's socket) until the
 * consumer returns, and `run` settles only after that attempt has ended. There is no
 * handshake for a caller to forget: a route cannot leave an attempt running.
 */
import type { RoutingConfig } from '../config/index.js';
import type { Provider } from '../upstream/index.js';
import {
  Cancellation,
  FALLBACK_ATTEMPT,
  FALLBACK_HEDGE,
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

/** The winning answer, as handed to the consumer inside the winner's attempt task. */
export interface Win<T extends Answer> {
  provider: string;
  answer: T;
  attempts: readonly AttemptRecord[];
}

/**
 * Consumes the winning answer (writes it to the client, relays a stream). The winner's
 * attempt holds the answer's upstream until the returned promise settles.
 */
export type Consume<T extends Answer, R, C = unknown> = (win: Win<T>, call: C) => Promise<R>;

/** Whether a provider can take a request's inbound API (natively or translated). */
export type Eligible = (provider: Provider) => boolean;

/** What `run` resolves with once the winner's attempt has ended: who won, and what consuming returned. */
export interface Routed<R> {
  provider: string;
  result: R;
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

  /**
   * Whether any enabled provider serves this model (and, given `eligible`, can take the
   * request's API: natively or by translation).
   */
  serves(model: string, eligible?: Eligible): boolean {
    return this.deps.providers.some(
      (p) =>
        p.config.enabled &&
        p.config.models.includes(model) &&
        (eligible === undefined || eligible(p)),
    );
  }

  candidates(model: string, eligible?: Eligible): Provider[] {
    const providers =
      eligible === undefined ? this.deps.providers : this.deps.providers.filter(eligible);
    const infos = providers.map((p) => ({
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

  /**
   * Runs `op` for `call` against the model's candidates inside the request task `req`; the
   * first answer is passed to `consume` inside its attempt's task. Only providers `eligible`
   * for the request's API are candidates (all, when absent). Settles once that attempt has ended,
   * with what `consume` returned (or its error), or with a RoutingFailure.
   */
  run<T extends Answer, R, C>(
    req: TaskContext,
    model: string,
    call: C,
    op: Operation<T, C>,
    consume: Consume<T, R, C>,
    eligible?: Eligible,
  ): Promise<Routed<R>> {
    if (!this.serves(model, eligible)) {
      return Promise.reject(new RoutingFailure({ kind: 'unknown_model', model }));
    }
    const candidates = this.candidates(model, eligible);
    const plan = new LaunchPlan(this.schedule(candidates.length));
    const race = new Race(this.deps, this.breakers, req, candidates, plan, call, op, consume);
    return race.start();
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

class Race<T extends Answer, R, C> {
  private readonly started = performance.now();
  private readonly records: AttemptRecord[] = [];
  private readonly handles = new Map<string, TaskHandle<void>>();
  private running = 0;
  private decided = false;
  private winner: string | undefined;
  /** What the winner's consumer returned; the race settles with it once the winner has ended. */
  private consumed: Promise<R> | undefined;
  private resolve!: (routed: Routed<R>) => void;
  private reject!: (err: unknown) => void;
  private hedging: TaskHandle<void> | undefined;

  constructor(
    private readonly deps: EngineDeps,
    private readonly breakers: Map<string, CircuitBreaker>,
    private readonly req: TaskContext,
    private readonly candidates: Provider[],
    private readonly plan: LaunchPlan,
    private readonly call: C,
    private readonly op: Operation<T, C>,
    private readonly consume: Consume<T, R, C>,
  ) {}

  start(): Promise<Routed<R>> {
    const result = new Promise<Routed<R>>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    for (const i of this.plan.due(0)) this.launch(i);
    if (!this.decided && this.plan.nextStartAtMs !== undefined) this.startHedging();
    return result;
  }

  /**
   * Runs the hedge timer as a task of the request's scope: it launches the later attempts
   * when their start times come, and is cancelled (lost_race) when the race is decided, or
   * with the request. Refused (the request is closing): no hedge, the attempt running goes
   * on alone and a failure still starts the next one.
   */
  private startHedging(): void {
    let handle: TaskHandle<void>;
    try {
      handle = this.req.scope.spawn(FALLBACK_HEDGE, (hctx) => this.hedge(hctx));
    } catch (err) {
      if (!(err instanceof TaskRejectedError)) throw err;
      return;
    }
    this.hedging = handle;
    // The hedge timer only launches attempts; if it ever threw, the request must hear of it.
    void handle.settled.then((r) => {
      if (r.outcome !== 'failed' || this.decided) return;
      this.decide();
      this.reject(r.error);
    });
  }

  private async hedge(hctx: TaskContext): Promise<void> {
    // NOTE: a Cancellation fed by onCancel, not hctx.signal: reading the signal makes an
    // AbortController per hedged request (see TaskContext.onCancel).
    const stop = new Cancellation();
    const unhook = hctx.onCancel((reason) => stop.abort(reason));
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
          this.call,
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
      // The winner's task ends when its answer has been consumed; if the client left first it
      // ends cancelled, but it won all the same and is not counted again as lost.
      if (provider.name === this.winner) return this.settleWin(provider.name);
      if (result.outcome === 'completed') return;
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
          e.clientError?.message,
        );
        return;
      }
      metrics.attempts.lost.inc();
      this.failed(provider.name, 'cancelled', undefined, result.reason, t0);
    });
  }

  /**
   * An attempt has an answer: the first one wins and is consumed (its attempt holds it until
   * consuming ends); later ones lose and are closed.
   */
  private offer(provider: string, answer: T): Promise<unknown> | undefined {
    if (this.decided) return undefined;
    this.winner = provider;
    this.decide(provider);
    this.deps.metrics.provider(provider).attempts.won.inc();
    try {
      this.consumed = this.consume({ provider, answer, attempts: this.records }, this.call);
    } catch (err) {
      this.consumed = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.consumed;
  }

  /** The winner's attempt has ended: the race settles as its consumer did. */
  private settleWin(provider: string): void {
    const consumed = this.consumed;
    if (consumed === undefined) return;
    void consumed.then(
      (result) => this.resolve({ provider, result }),
      (err: unknown) => this.reject(err),
    );
  }

  /** Ends the race: no more launches; every branch but the winner's is cancelled. */
  private decide(winner?: string): void {
    this.decided = true;
    // Decided before its next start: the hedge lost the race like the attempts did.
    this.hedging?.cancel('lost_race');
    for (const [name, h] of this.handles) if (name !== winner) h.cancel('lost_race');
  }

  private failed(
    provider: string,
    outcome: AttemptRecord['outcome'],
    status: number | undefined,
    message: string,
    t0: number,
    retryAfterMs?: number,
    upstreamMessage?: string,
  ): void {
    this.records.push({
      provider,
      outcome,
      status,
      message,
      upstreamMessage,
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
