/**
 * One spawned unit of work: its AbortSignal (created only when read), its span, its metrics,
 * its optional child scope, and the leak timer armed when its cancellation is requested.
 * A task knows scopes only through the TaskScope interface below: scope.ts imports this file
 * to spawn tasks, so this file does not import scope.ts (no import circles).
 */
import {
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanKind,
} from '@opentelemetry/api';
import { TaskCancelledError, TaskLeakedError } from './errors.js';
import type { TaskInstruments } from './instruments.js';
import type { Runtime, TaskInfo } from './runtime.js';
import { armTimer } from './timers.js';
import type { CancelReason, Outcome, TaskKind, TaskState } from './vocabulary.js';
import { merged } from '../objects.js';

export type TaskResult<T> =
  | { readonly outcome: 'completed'; readonly value: T }
  | { readonly outcome: 'failed'; readonly error: unknown }
  | {
      readonly outcome: 'cancelled' | 'timed_out';
      readonly reason: CancelReason;
      readonly error?: unknown;
    };

/**
 * Lets a task's span stand for something more specific than "a task": the HTTP layer makes
 * each request task's span the request's SERVER span, so a request costs one span, not two.
 */
export interface TaskSpanOptions {
  name: string;
  kind?: SpanKind;
  attributes?: Attributes;
}

/** What a running task sees, `S` being its scope's type (TaskContext in scope.ts fixes it). */
export interface TaskContextOf<S> {
  readonly id: number;
  /** Aborted with a TaskCancelledError when the task is cancelled. Created on first read. */
  readonly signal: AbortSignal;
  /** Whether cancellation was requested: a check that does not create the signal. */
  readonly cancelled: boolean;
  /**
   * Calls `fn` when the task is cancelled (at once if it already is), before the signal
   * aborts. For the hot path: no AbortController is made, where reading `signal` makes one
   * (~2.6 us with a listener, and ~1.4 KB to collect). Returns a function that unhooks it.
   */
  onCancel(fn: (reason: CancelReason) => void): () => void;
  /** The task's span, when tracing is on. */
  readonly span: Span | undefined;
  /** A scope owned by this task: closed when the task settles, cancelled when it is. */
  readonly scope: S;
  /** The OTel context whose active span is this task's span (for explicit propagation). */
  readonly otelContext: Context;
}

/** What the spawner hands back. `settled` never rejects. */
export interface TaskHandle<T> {
  readonly id: number;
  readonly settled: Promise<TaskResult<T>>;
  cancel(reason?: CancelReason): void;
}

export interface TaskSnapshot {
  id: number;
  owner: string;
  task: string;
  kind: TaskKind;
  state: TaskState;
  /** Seconds since spawned (the unit of the task metrics); `ageMs` is the same, rounded. */
  age: number;
  ageMs: number;
  leaked: boolean;
  cancelReason: CancelReason | null;
  site: string;
  spawnStack?: string;
  scope: string;
}

/** What a task needs of the scope it runs in and of the scope it owns. Scope implements it. */
export interface TaskScope<S extends TaskScope<S>> {
  readonly name: string;
  /** A new scope for one of this scope's tasks to own: not linked to this one. */
  scopeForTask(name: string, otelContext: Context): S;
  /** Called by a task when it settles. */
  detach(task: Task<unknown, S>): void;
  /** Takes over a settled task's scope whose tasks still run. */
  adopt(orphan: S): void;
  cancelAll(reason: CancelReason): void;
  count(): number;
  seal(): void;
  close(reason: CancelReason): Promise<unknown>;
}

const noop = (): void => {};

export class Task<T, S extends TaskScope<S>> implements TaskHandle<T>, TaskContextOf<S>, TaskInfo {
  readonly id: number;
  readonly startedAt = performance.now();
  readonly settled: Promise<TaskResult<T>>;
  state: TaskState = 'running';
  leaked = false;
  /** Links in the parent scope's list of live tasks (owned by Scope). */
  prevSibling: Task<unknown, S> | undefined = undefined;
  nextSibling: Task<unknown, S> | undefined = undefined;
  private controller: AbortController | undefined;
  private cancelHooks: ((reason: CancelReason) => void)[] | undefined;
  private cancelReason: CancelReason | undefined;
  private cancelAt = 0;
  private disarmLeak: (() => void) | undefined;
  private disarmDeadline: (() => void) | undefined;
  private childScope: S | undefined;
  span: Span | undefined;
  private spanContext: Context | undefined;
  private readonly spawnStack: string | undefined;

  constructor(
    private readonly rt: Runtime,
    private readonly m: TaskInstruments,
    readonly parent: S,
    readonly kind: TaskKind,
    private readonly parentContext: Context,
    fn: (ctx: TaskContextOf<S>) => Promise<T>,
    deadlineMs: number | undefined,
    spanAs: TaskSpanOptions | undefined,
  ) {
    this.id = rt.nextId();
    if (rt.tracer !== undefined) {
      const attributes: Attributes = merged(spanAs?.attributes, {
        'task.owner': m.def.owner,
        'task.name': m.def.task,
        'task.id': this.id,
        'task.kind': kind,
      });
      this.span = rt.tracer.startSpan(
        spanAs?.name ?? `${m.def.owner}/${m.def.task}`,
        spanAs?.kind === undefined ? { attributes } : { attributes, kind: spanAs.kind },
        parentContext,
      );
    }
    if (rt.captureSpawnStacks) this.spawnStack = new Error('spawned here').stack;
    m.started.inc();
    m.active.inc();
    if (deadlineMs !== undefined) {
      this.disarmDeadline = armTimer(deadlineMs, () => this.cancel('deadline'));
    }
    this.settled = this.run(fn);
  }

  get owner(): string {
    return this.m.def.owner;
  }
  get task(): string {
    return this.m.def.task;
  }
  get site(): string {
    return this.m.def.site;
  }
  /** How long the task may ignore its cancellation before it is declared leaked. */
  get graceMs(): number {
    return this.m.def.graceMs;
  }
  get traceId(): string | undefined {
    return (this.span?.spanContext() ?? trace.getSpanContext(this.parentContext))?.traceId;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.cancelReason !== undefined) {
        this.controller.abort(TaskCancelledError.of(this.cancelReason));
      }
    }
    return this.controller.signal;
  }

  get cancelled(): boolean {
    return this.cancelReason !== undefined;
  }

  onCancel(fn: (reason: CancelReason) => void): () => void {
    if (this.cancelReason !== undefined) {
      fn(this.cancelReason);
      return noop;
    }
    if (this.state === 'settled') return noop;
    (this.cancelHooks ??= []).push(fn);
    return () => {
      const hooks = this.cancelHooks;
      const at = hooks === undefined ? -1 : hooks.indexOf(fn);
      if (at >= 0) hooks!.splice(at, 1);
    };
  }

  get otelContext(): Context {
    if (this.spanContext === undefined) {
      this.spanContext =
        this.span === undefined ? this.parentContext : trace.setSpan(this.parentContext, this.span);
    }
    return this.spanContext;
  }

  /** The task's own scope if it was ever used (for tree walks); never creates it. */
  get ownedScope(): S | undefined {
    return this.childScope;
  }

  get scope(): S {
    if (this.childScope === undefined) {
      this.childScope = this.parent.scopeForTask(
        `${this.parent.name}/${this.task}#${this.id}`,
        this.otelContext,
      );
      if (this.cancelReason !== undefined) this.childScope.cancelAll(this.cancelReason);
    }
    return this.childScope;
  }

  cancel(reason: CancelReason = 'explicit'): void {
    if (this.state !== 'running') return;
    this.state = 'cancelling';
    this.cancelReason = reason;
    this.cancelAt = performance.now();
    this.m.cancellations[reason].inc();
    this.disarmDeadline?.();
    this.disarmLeak = armTimer(this.m.def.graceMs, () => this.markLeaked());
    const hooks = this.cancelHooks;
    this.cancelHooks = undefined;
    if (hooks !== undefined) {
      for (const hook of hooks) {
        // A hook that throws must not stop the others, the signal or the child scope.
        try {
          hook(reason);
        } catch (err) {
          this.rt.onError(err, this);
        }
      }
    }
    this.controller?.abort(TaskCancelledError.of(reason));
    this.childScope?.cancelAll(reason);
  }

  snapshot(now: number): TaskSnapshot {
    const s: TaskSnapshot = {
      id: this.id,
      owner: this.owner,
      task: this.task,
      kind: this.kind,
      state: this.state,
      age: Math.round(now - this.startedAt) / 1000,
      ageMs: Math.round(now - this.startedAt),
      leaked: this.leaked,
      cancelReason: this.cancelReason ?? null,
      site: this.site,
      scope: this.parent.name,
    };
    if (this.spawnStack !== undefined) s.spawnStack = this.spawnStack;
    return s;
  }

  private run(fn: (ctx: TaskContextOf<S>) => Promise<T>): Promise<TaskResult<T>> {
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(fn(this));
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- tasks may throw anything; it is reported as thrown
      pending = Promise.reject(error);
    }
    return pending.then(
      (value) => this.finish(this.cancelledResult() ?? { outcome: 'completed', value }),
      (error: unknown) => this.finish(this.cancelledResult(error) ?? { outcome: 'failed', error }),
    );
  }

  private cancelledResult(error?: unknown): TaskResult<T> | undefined {
    const reason = this.cancelReason;
    if (reason === undefined) return undefined;
    const outcome = reason === 'deadline' ? 'timed_out' : 'cancelled';
    return error === undefined ? { outcome, reason } : { outcome, reason, error };
  }

  private finish(result: TaskResult<T>): TaskResult<T> {
    const now = performance.now();
    const outcome: Outcome = result.outcome;
    this.state = 'settled';
    this.cancelHooks = undefined;
    this.disarmDeadline?.();
    this.disarmLeak?.();
    this.parent.detach(this);
    const m = this.m;
    m.active.dec();
    m.finished[outcome].inc();
    m.duration[outcome].observe((now - this.startedAt) / 1000);
    if (this.cancelReason !== undefined) m.cancelDuration.observe((now - this.cancelAt) / 1000);
    if (this.leaked) m.leaked.dec();
    if (result.outcome === 'failed') this.rt.onError(result.error, this);
    this.endSpan(result);
    const own = this.childScope;
    if (own !== undefined) {
      if (own.count() === 0) {
        own.seal();
      } else {
        this.parent.adopt(own);
        void own.close('scope_closed');
      }
    }
    return result;
  }

  private endSpan(result: TaskResult<T>): void {
    const span = this.span;
    if (span === undefined || this.leaked) return;
    span.setAttribute('task.outcome', result.outcome);
    if (this.cancelReason !== undefined) span.setAttribute('task.cancel.reason', this.cancelReason);
    if (result.outcome === 'failed') {
      const err = result.error;
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: err instanceof Error ? err.message : String(err),
      });
      span.setAttribute('error.type', err instanceof Error ? err.name : 'Error');
    }
    span.end();
  }

  private markLeaked(): void {
    if (this.state === 'settled' || this.leaked) return;
    this.leaked = true;
    this.m.leaked.inc();
    this.m.leakedTotal.inc();
    const ageMs = Math.round(performance.now() - this.startedAt);
    const message = `${this.owner}/${this.task} #${this.id} ignored its cancellation (${this.cancelReason ?? 'unknown'}) for ${this.m.def.graceMs} ms`;
    this.rt.logger.warn(
      {
        owner: this.owner,
        task: this.task,
        taskId: this.id,
        ageMs,
        cancelReason: this.cancelReason,
        site: this.site,
        trace_id: this.traceId,
        ...(this.spawnStack === undefined ? {} : { spawnStack: this.spawnStack }),
      },
      `task leaked: ${message}`,
    );
    const span = this.span;
    if (span !== undefined) {
      span.setAttribute('task.leaked', true);
      if (this.cancelReason !== undefined)
        span.setAttribute('task.cancel.reason', this.cancelReason);
      span.setAttribute('error.type', 'TaskLeakedError');
      span.recordException(new TaskLeakedError(message));
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'TaskLeakedError' });
      span.end();
    }
  }
}
