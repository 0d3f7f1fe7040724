/**
 * One run of an every() loop, recorded on its own: a finished span per iteration and the
 * loop metrics. The loop task's own span ends only when the loop does, so it can't be the
 * parent of anything a trace backend shows while the loop runs: each iteration span is a
 * ROOT span (a trace of its own) with a link to the loop task's span, and it is the active
 * span of what the run makes (its `otelContext`, and the spans of tasks it spawns).
 * Like task.ts, this file knows scopes only through TaskScope (scope.ts imports it).
 */
import {
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import type { LoopRecord } from './loops.js';
import type { Runtime } from './runtime.js';
import type { TaskContextOf, TaskScope } from './task.js';
import type { CancelReason, IterationOutcome } from './vocabulary.js';

/** How an iteration's own scope is opened and ended, by the scope that runs the loop. */
export interface IterationScopes<S> {
  /** A child of `loopScope` whose tasks' spans are children of `otelContext`. */
  open(loopScope: S, name: string, otelContext: Context): S;
  /** Ends it once the run is over; `loopCancelled`: the loop is ending, its scope closes it. */
  end(scope: S, loopCancelled: boolean): Promise<void>;
}

export interface Iteration<S> {
  readonly rt: Runtime;
  readonly loop: LoopRecord;
  /** The loop task's context. */
  readonly ctx: TaskContextOf<S>;
  readonly scopes: IterationScopes<S>;
  /** Reports a failed run (the loop goes on). */
  readonly report: (error: unknown) => void;
}

/**
 * What a run sees: the loop task's signal and cancellation, with the iteration's span (when
 * tracing) as the active one. Its scope, made only if the run spawns, belongs to this
 * iteration, tracing or not, so what a run leaves running ends with it either way.
 */
class IterationContext<S extends TaskScope<S>> implements TaskContextOf<S> {
  private own: S | undefined;

  constructor(
    private readonly loop: TaskContextOf<S>,
    private readonly scopes: IterationScopes<S>,
    private readonly number: number,
    readonly span: Span | undefined,
    readonly otelContext: Context,
  ) {}

  get id(): number {
    return this.loop.id;
  }
  get signal(): AbortSignal {
    return this.loop.signal;
  }
  get cancelled(): boolean {
    return this.loop.cancelled;
  }
  onCancel(fn: (reason: CancelReason) => void): () => void {
    return this.loop.onCancel(fn);
  }

  get scope(): S {
    if (this.own === undefined) {
      const own = this.scopes.open(this.loop.scope, `iteration#${this.number}`, this.otelContext);
      this.own = own;
      // Made after the loop was cancelled: its tasks are cancelled as they would have been.
      if (this.loop.cancelled) this.loop.onCancel((reason) => own.cancelAll(reason));
    }
    return this.own;
  }

  /** Ends the iteration's scope, if the run made one. */
  async end(): Promise<void> {
    if (this.own !== undefined) await this.scopes.end(this.own, this.loop.cancelled);
  }
}

/** Runs iteration number `n` of a loop: never rejects; a failed run is reported. */
export async function runIteration<S extends TaskScope<S>>(
  it: Iteration<S>,
  run: (ctx: TaskContextOf<S>) => Promise<void>,
): Promise<void> {
  const { rt, loop, ctx } = it;
  const n = loop.next();
  const started = performance.now();
  const span = rt.tracer === undefined ? undefined : startSpan(it, n);
  const otelContext = span === undefined ? ctx.otelContext : trace.setSpan(rt.rootContext, span);
  const runCtx = new IterationContext(ctx, it.scopes, n, span, otelContext);
  let reason: CancelReason | undefined;
  const unhook = span === undefined ? undefined : ctx.onCancel((r) => (reason = r));
  let failure: { error: unknown } | undefined;
  try {
    await run(runCtx);
  } catch (error) {
    failure = { error };
  }
  unhook?.();
  await runCtx.end();
  const outcome: IterationOutcome = ctx.cancelled
    ? 'cancelled'
    : failure === undefined
      ? 'completed'
      : 'failed';
  if (outcome === 'failed') it.report(failure!.error);
  loop.finished(outcome, performance.now() - started);
  if (span !== undefined) endSpan(span, outcome, reason, failure?.error);
}

function startSpan<S>(it: Iteration<S>, n: number): Span {
  const { owner, task } = it.loop.def;
  const attributes: Attributes = {
    'task.owner': owner,
    'task.name': task,
    'task.kind': 'loop',
    'loop.iteration': n,
  };
  const loopSpan = it.ctx.span?.spanContext();
  const links: Link[] = loopSpan === undefined ? [] : [{ context: loopSpan }];
  return it.rt.tracer!.startSpan(
    `${owner}/${task}`,
    { root: true, attributes, links },
    it.rt.rootContext,
  );
}

function endSpan(
  span: Span,
  outcome: IterationOutcome,
  reason: CancelReason | undefined,
  error: unknown,
): void {
  span.setAttribute('loop.outcome', outcome);
  if (outcome === 'cancelled' && reason !== undefined) {
    span.setAttribute('task.cancel.reason', reason);
  }
  if (outcome === 'failed') {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
  }
  span.end();
}
