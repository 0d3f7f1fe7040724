/**
 * A scope owns tasks and child scopes (structured concurrency, after Trio/Effection):
 * closing it cancels its children and then waits for them, bounded by a deadline; spawning
 * into a closing or closed scope is refused. Cancellation travels down the tree by walking
 * it, never through listeners on a long-lived AbortSignal, so nothing accumulates on one.
 */
import type { Context } from '@opentelemetry/api';
import type { TaskDefinition } from './definition.js';
import { TaskRejectedError } from './errors.js';
import { runIteration, type Iteration, type IterationScopes } from './iteration.js';
import type { Runtime } from './runtime.js';
import {
  Task,
  type TaskContextOf,
  type TaskHandle,
  type TaskScope,
  type TaskSnapshot,
  type TaskSpanOptions,
} from './task.js';
import { armTimer, jittered, sleep } from './timers.js';
import type { CancelReason, TaskKind } from './vocabulary.js';

/** What a running task sees. */
export type TaskContext = TaskContextOf<Scope>;

export interface SpawnOptions {
  /** Cancel with reason "deadline" (outcome timed_out) after this many ms. */
  deadlineMs?: number;
  kind?: TaskKind;
  /** Parent OTel context for the task's span; defaults to the scope's. */
  context?: Context;
  /** Name, kind and extra attributes for the task's span (default: "owner/task"). */
  span?: TaskSpanOptions;
}

export interface EveryOptions {
  intervalMs: number;
  /** ± fraction of the interval, so replicas and loops don't run in lockstep. Default 0.1. */
  jitter?: number;
  /** Run once at start instead of after the first interval. Default true. */
  immediate?: boolean;
}

export interface CloseSummary {
  /** Tasks (in this scope and below) that were still running when close began. */
  cancelled: number;
  /** Tasks still running when the deadline passed. */
  unsettled: number;
  durationMs: number;
}

type ScopeState = 'open' | 'closing' | 'closed';

/** The child scopes of every scope that has none: empty forever (see Scope.children). */
const NO_CHILDREN: ReadonlySet<Scope> & Set<Scope> = new Set<Scope>();

export class Scope implements TaskScope<Scope> {
  /**
   * Live tasks as an intrusive doubly linked list (Task.prevSibling/nextSibling). NOTE: a Set
   * held by this long-lived scope made every short-lived task (and its AbortSignal) dearer
   * to collect: ~600 ns more per task in bench:tasks; linking tasks to each other costs none.
   */
  private head: Task<unknown, Scope> | undefined;
  private size = 0;
  /**
   * NOTE: NO_CHILDREN (shared, never added to) until a child is added: every request's task
   * gets a scope of its own, which almost never has child scopes, so it makes no Set.
   */
  private children: Set<Scope> = NO_CHILDREN;
  private state: ScopeState = 'open';
  private closing: Promise<CloseSummary> | undefined;

  constructor(
    private readonly rt: Runtime,
    readonly name: string,
    readonly otelContext: Context,
    private parent?: Scope,
  ) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Runs `fn` as a named task of this scope. Throws TaskRejectedError if closed or at limit. */
  spawn<T>(
    def: TaskDefinition,
    fn: (ctx: TaskContext) => Promise<T>,
    options: SpawnOptions = {},
  ): TaskHandle<T> {
    const m = this.rt.instruments(def);
    if (this.state !== 'open') {
      m.rejected.closed.inc();
      throw new TaskRejectedError('closed', def.owner, def.task);
    }
    if (m.active.value >= m.limit) {
      m.rejected.limit.inc();
      throw new TaskRejectedError('limit', def.owner, def.task);
    }
    const task = new Task<T, Scope>(
      this.rt,
      m,
      this,
      options.kind ?? 'oneshot',
      options.context ?? this.otelContext,
      fn,
      options.deadlineMs,
      options.span,
    );
    if (task.state !== 'settled') this.link(task);
    return task;
  }

  /**
   * A periodic loop as one long-lived task: runs never overlap, the sleep between runs ends
   * at once on cancellation, and a failing run is reported without ending the loop. Each run
   * is an iteration of its own (iteration.ts): a finished span, linked to the loop task's,
   * and the loop metrics; the supervisor lists the loop (loopHealth) while it runs.
   */
  every(
    def: TaskDefinition,
    { intervalMs, jitter = 0.1, immediate = true }: EveryOptions,
    run: (ctx: TaskContext) => Promise<void>,
  ): TaskHandle<void> {
    return this.spawn(
      def,
      async (ctx) => {
        const { signal } = ctx;
        const loop = this.rt.loops.start(def, intervalMs);
        const iteration: Iteration<Scope> = {
          rt: this.rt,
          loop,
          ctx,
          scopes: Scope.iterationScopes,
          report: (error) => this.rt.onError(error, ctx as unknown as Task<void, Scope>),
        };
        try {
          if (!immediate && !(await sleep(jittered(intervalMs, jitter), signal))) return;
          while (!signal.aborted) {
            await runIteration(iteration, run);
            if (!(await sleep(jittered(intervalMs, jitter), signal))) return;
          }
        } finally {
          this.rt.loops.end(loop);
        }
      },
      { kind: 'loop' },
    );
  }

  /** How a loop iteration's scope is made and ended (iteration.ts knows no Scope). */
  private static readonly iterationScopes: IterationScopes<Scope> = {
    open: (loopScope, name, otelContext) => loopScope.iterationScope(name, otelContext),
    end: (scope, loopCancelled) => scope.endIteration(loopCancelled),
  };

  /** A child scope whose tasks' spans are children of `otelContext` (a loop iteration's). */
  private iterationScope(name: string, otelContext: Context): Scope {
    if (this.state !== 'open') throw new TaskRejectedError('closed', name, 'scope');
    const child = new Scope(this.rt, `${this.name}/${name}`, otelContext, this);
    this.addChild(child);
    return child;
  }

  /**
   * Ends an iteration's scope. Tasks the run left running belong to the iteration: they
   * are cancelled and awaited before the next one (runs never overlap). NOTE: when the loop
   * itself is ending, the loop task's scope closes this one as the task settles (adopted,
   * not awaited here), so a straggler does not hold up the loop's own settling.
   */
  private async endIteration(loopCancelled: boolean): Promise<void> {
    if (this.count() === 0) {
      this.seal();
      this.release();
    } else if (!loopCancelled) {
      await this.close('scope_closed');
    }
  }

  /** Closes a scope that has nothing running, synchronously. */
  seal(): void {
    this.markClosing();
    this.state = 'closed';
  }

  /** A scope for one of this scope's tasks to own, not linked here: walks reach it via the task. */
  scopeForTask(name: string, otelContext: Context): Scope {
    return new Scope(this.rt, name, otelContext);
  }

  /** A child scope, e.g. one per component. */
  scope(name: string): Scope {
    if (this.state !== 'open') throw new TaskRejectedError('closed', name, 'scope');
    const child = new Scope(this.rt, `${this.name}/${name}`, this.otelContext, this);
    this.addChild(child);
    return child;
  }

  /** Cancels every task below this scope without closing it. */
  cancelAll(reason: CancelReason): void {
    for (let t = this.head; t !== undefined; t = t.nextSibling) t.cancel(reason);
    for (const child of this.children) child.cancelAll(reason);
  }

  /** Resolves once every task below this scope has settled (true), or at the deadline (false). */
  async idle(deadlineMs = Infinity): Promise<boolean> {
    const pending = this.pending();
    if (pending.length === 0) return true;
    const all = Promise.all(pending).then(() => true);
    if (!Number.isFinite(deadlineMs)) return all;
    let disarm: (() => void) | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      disarm = armTimer(deadlineMs, () => resolve(false));
    });
    try {
      const done = await Promise.race([all, timeout]);
      // New tasks may have been spawned meanwhile (e.g. a loop's child): wait for them too.
      return done && (this.pending().length === 0 || (await this.idle(deadlineMs)));
    } finally {
      disarm?.();
    }
  }

  /**
   * Refuses new spawns, cancels everything below with `reason`, waits up to `deadlineMs`.
   * Tasks still running a grace period after their cancellation are reported as leaked.
   */
  close(reason: CancelReason = 'scope_closed', deadlineMs = 10_000): Promise<CloseSummary> {
    this.closing ??= this.doClose(reason, deadlineMs);
    return this.closing;
  }

  private async doClose(reason: CancelReason, deadlineMs: number): Promise<CloseSummary> {
    const started = performance.now();
    this.markClosing();
    const cancelled = this.count();
    this.cancelAll(reason);
    await this.idle(deadlineMs);
    const unsettled = this.count();
    this.state = 'closed';
    this.release();
    return { cancelled, unsettled, durationMs: performance.now() - started };
  }

  private markClosing(): void {
    if (this.state === 'open') this.state = 'closing';
    for (const child of this.children) child.markClosing();
  }

  private link(task: Task<unknown, Scope>): void {
    task.nextSibling = this.head;
    if (this.head !== undefined) this.head.prevSibling = task;
    this.head = task;
    this.size++;
  }

  /** Called by a task when it settles. */
  detach(task: Task<unknown, Scope>): void {
    if (task.parent !== this || (task.prevSibling === undefined && this.head !== task)) return;
    if (task.prevSibling === undefined) this.head = task.nextSibling;
    else task.prevSibling.nextSibling = task.nextSibling;
    if (task.nextSibling !== undefined) task.nextSibling.prevSibling = task.prevSibling;
    task.prevSibling = undefined;
    task.nextSibling = undefined;
    this.size--;
    if (this.state === 'closed') this.release();
  }

  /**
   * Takes over a settled task's scope whose tasks are still running (cancelled, perhaps
   * leaking), so they stay visible to walks, snapshots and idle() until they settle.
   */
  adopt(orphan: Scope): void {
    orphan.parent = this;
    this.addChild(orphan);
  }

  private addChild(child: Scope): void {
    if (this.children === NO_CHILDREN) this.children = new Set();
    this.children.add(child);
  }

  /** A closed scope leaves its parent once nothing below it runs (leaked tasks keep it). */
  private release(): void {
    if (this.size > 0 || this.children.size > 0) return;
    const parent = this.parent;
    if (parent === undefined) return;
    parent.children.delete(this);
    this.parent = undefined;
    if (parent.state === 'closed') parent.release();
  }

  /** Live tasks directly in this scope (not those of child scopes or tasks' own scopes). */
  get ownTasks(): number {
    return this.size;
  }

  /** Live tasks below this scope (including tasks' own scopes). */
  count(): number {
    let n = 0;
    this.walk(() => n++);
    return n;
  }

  walk(visit: (task: Task<unknown, Scope>) => void): void {
    for (let task = this.head; task !== undefined; task = task.nextSibling) {
      visit(task);
      task.ownedScope?.walk(visit);
    }
    for (const child of this.children) child.walk(visit);
  }

  snapshot(now = performance.now()): TaskSnapshot[] {
    const out: TaskSnapshot[] = [];
    this.walk((t) => out.push(t.snapshot(now)));
    return out;
  }

  private pending(): Promise<unknown>[] {
    const out: Promise<unknown>[] = [];
    this.walk((t) => out.push(t.settled));
    return out;
  }
}
