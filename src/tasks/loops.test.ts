/**
 * every() loops, iteration by iteration: a finished root span per run linked to the loop
 * task's span, the loop metrics, and the loop health the watchdog reads.
 */
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../../test/support/tasks.js';
import { CACHE_CLEANUP, CACHE_MONITOR, HEALTH_LOOP, HEALTH_PROBE } from './catalog.js';
import type { TaskContext } from './scope.js';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await wait(2);
  }
}

/** Resolves when the task is cancelled (what a well-behaved long run does). */
const untilCancelled = (ctx: TaskContext): Promise<void> =>
  new Promise((resolve) => ctx.onCancel(() => resolve()));

const iterationSpans = (h: Harness, name = 'unified_cache/cleanup'): ReadableSpan[] =>
  h.spans
    .getFinishedSpans()
    .filter((s) => s.name === name && s.attributes['loop.iteration'] !== undefined);

let unhandled: unknown[] = [];
process.on('unhandledRejection', (err) => unhandled.push(err));
afterEach(() => {
  expect(unhandled).toEqual([]);
  unhandled = [];
});

describe('every() iteration spans', () => {
  it('ends one root span per iteration, numbered from 1 and linked to the loop task span', async () => {
    const h = harness();
    const scope = h.supervisor.scope('unified_cache');
    let runs = 0;
    const loop = scope.every(CACHE_CLEANUP, { intervalMs: 1, jitter: 0 }, async (ctx) => {
      runs++;
      if (runs === 4) await untilCancelled(ctx);
    });
    await waitUntil('the fourth run started', () => runs === 4);
    // Three runs are visible in the trace backend while the loop still runs.
    expect(iterationSpans(h).map((s) => s.attributes['loop.iteration'])).toEqual([1, 2, 3]);
    loop.cancel('shutdown');
    await loop.settled;

    const spans = iterationSpans(h);
    const lifetime = h.spans
      .getFinishedSpans()
      .find(
        (s) =>
          s.name === 'unified_cache/cleanup' &&
          s.attributes['task.kind'] === 'loop' &&
          s.attributes['task.id'] !== undefined,
      )!;
    expect(lifetime).toBeDefined();
    expect(
      spans.map((s) => [s.attributes['loop.iteration'], s.attributes['loop.outcome']]),
    ).toEqual([
      [1, 'completed'],
      [2, 'completed'],
      [3, 'completed'],
      [4, 'cancelled'],
    ]);
    for (const span of spans) {
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.spanContext().traceId).not.toBe(lifetime.spanContext().traceId);
      expect(span.links.map((l) => l.context.spanId)).toEqual([lifetime.spanContext().spanId]);
      expect(span.attributes).toMatchObject({
        'task.owner': 'unified_cache',
        'task.name': 'cleanup',
        'task.kind': 'loop',
      });
    }
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(4);
    expect(spans[3]!.attributes['task.cancel.reason']).toBe('shutdown');
    expect(spans[3]!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('marks a failing run failed with an error status, reports it and goes on', async () => {
    const errors: unknown[] = [];
    const h = harness({ onError: (e) => errors.push(e) });
    const scope = h.supervisor.scope('unified_cache');
    let runs = 0;
    scope.every(CACHE_CLEANUP, { intervalMs: 1, jitter: 0 }, async () => {
      runs++;
      if (runs === 1) throw new TypeError('redis said no');
    });
    await waitUntil('a later run', () => runs >= 3);
    await scope.close();

    const [failed, next] = iterationSpans(h);
    expect(failed!.attributes['loop.outcome']).toBe('failed');
    expect(failed!.attributes['error.type']).toBe('TypeError');
    expect(failed!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'redis said no' });
    expect(failed!.events.some((e) => e.name === 'exception')).toBe(true);
    expect(next!.attributes['loop.outcome']).toBe('completed');
    expect(errors.map((e) => (e as Error).message)).toEqual(['redis said no']);
    const outcome = (o: string) =>
      h.metric('llm_proxy_loop_iterations_total', { task: 'cleanup', outcome: o });
    expect(await outcome('failed')).toBe(1);
    expect(await outcome('completed')).toBeGreaterThanOrEqual(2);
  });

  it('makes the iteration span the parent of what the run makes, tasks it spawns included', async () => {
    const h = harness();
    const scope = h.supervisor.scope('health_checker');
    let seen: string | undefined;
    const loop = scope.every(HEALTH_LOOP, { intervalMs: 600_000 }, async (ctx) => {
      seen = trace.getSpan(ctx.otelContext)?.spanContext().spanId;
      await ctx.scope.spawn(HEALTH_PROBE, async () => 'up').settled;
    });
    await waitUntil('the probe ended', () =>
      h.spans.getFinishedSpans().some((s) => s.name === 'health_checker/probe'),
    );
    loop.cancel();
    await loop.settled;
    const [round] = iterationSpans(h, 'health_checker/loop');
    const probe = h.spans.getFinishedSpans().find((s) => s.name === 'health_checker/probe')!;
    expect(seen).toBe(round!.spanContext().spanId);
    expect(probe.parentSpanContext?.spanId).toBe(round!.spanContext().spanId);
    expect(probe.spanContext().traceId).toBe(round!.spanContext().traceId);
  });

  it('makes no spans at all without a tracer, and still counts iterations', async () => {
    const h = harness({ tracer: undefined });
    const scope = h.supervisor.scope('unified_cache');
    let runs = 0;
    scope.every(CACHE_CLEANUP, { intervalMs: 1, jitter: 0 }, async () => {
      runs++;
    });
    await waitUntil('three runs', () => runs >= 3);
    await scope.close();
    expect(h.spans.getFinishedSpans()).toHaveLength(0);
    expect(
      await h.metric('llm_proxy_loop_iterations_total', { task: 'cleanup', outcome: 'completed' }),
    ).toBeGreaterThanOrEqual(3);
  });
});

describe('every() iteration scopes', () => {
  it('cancels what a run left running before the next run starts, and keeps no scope per run', async () => {
    const h = harness();
    const scope = h.supervisor.scope('health_checker');
    const order: string[] = [];
    let runs = 0;
    const loop = scope.every(HEALTH_LOOP, { intervalMs: 1, jitter: 0 }, async (ctx) => {
      const n = ++runs;
      order.push(`run ${n}`);
      // Spawned and not awaited: it belongs to this iteration, not to the loop.
      const probe = ctx.scope.spawn(HEALTH_PROBE, untilCancelled);
      void probe.settled.then((r) => order.push(`probe ${n} ${r.outcome}`));
    });
    await waitUntil('five runs', () => runs >= 5);
    // At most the running iteration's scope is left under the loop task's own scope.
    const loopTask = (scope as unknown as { head: { ownedScope: unknown } }).head;
    expect((loopTask.ownedScope as { children: Set<unknown> }).children.size).toBeLessThanOrEqual(
      1,
    );
    loop.cancel();
    await loop.settled;
    await scope.idle();
    // Each probe ended before the next run began (runs never overlap, children included).
    expect(order.slice(0, 8)).toEqual([
      'run 1',
      'probe 1 cancelled',
      'run 2',
      'probe 2 cancelled',
      'run 3',
      'probe 3 cancelled',
      'run 4',
      'probe 4 cancelled',
    ]);
    expect(
      await h.metric('llm_proxy_task_cancellations_total', {
        task: 'probe',
        reason: 'scope_closed',
      }),
    ).toBeGreaterThanOrEqual(4);
    expect(h.supervisor.liveCount()).toBe(0);
  });

  it('names the scope of a task spawned in a run after its iteration', async () => {
    const h = harness();
    const scope = h.supervisor.scope('health_checker');
    let snapshotScope: string | undefined;
    const loop = scope.every(HEALTH_LOOP, { intervalMs: 600_000 }, async (ctx) => {
      await ctx.scope.spawn(HEALTH_PROBE, async () => {
        await Promise.resolve(); // linked into its scope once spawn() returns
        snapshotScope = h.supervisor.snapshot().find((t) => t.task === 'probe')?.scope;
      }).settled;
    });
    await waitUntil('the probe ran', () => snapshotScope !== undefined);
    loop.cancel();
    await loop.settled;
    expect(snapshotScope).toMatch(/^root\/health_checker\/loop#\d+\/iteration#1$/);
  });
});

describe('loop metrics and health', () => {
  it('counts iterations by outcome, times them, and exports interval and last success while running', async () => {
    const h = harness();
    const scope = h.supervisor.scope('unified_cache');
    let runs = 0;
    const before = Date.now();
    const loop = scope.every(CACHE_MONITOR, { intervalMs: 5, jitter: 0 }, async (ctx) => {
      runs++;
      if (runs === 3) await untilCancelled(ctx);
    });
    await waitUntil('the third run started', () => runs === 3);
    const running = await h.registry.metrics();
    expect(running).toContain('# TYPE llm_proxy_loop_last_success_timestamp_seconds gauge');
    expect(running).toContain(
      'llm_proxy_loop_interval_seconds{owner="unified_cache",task="monitor"} 0.005',
    );
    const last = await h.metric('llm_proxy_loop_last_success_timestamp_seconds', {
      task: 'monitor',
    });
    expect(last * 1000).toBeGreaterThanOrEqual(before);
    expect(last * 1000).toBeLessThanOrEqual(Date.now());
    expect(
      await h.metric('llm_proxy_loop_iterations_total', { task: 'monitor', outcome: 'failed' }),
    ).toBe(0);

    loop.cancel();
    await loop.settled;
    const count = (o: string) =>
      h.metric('llm_proxy_loop_iterations_total', { task: 'monitor', outcome: o });
    expect(await count('completed')).toBe(2);
    expect(await count('cancelled')).toBe(1);
    expect(
      await h.metric('llm_proxy_loop_iteration_duration_seconds_count', { task: 'monitor' }),
    ).toBe(3);
    // A loop that ended is not running: no interval, no last success, nothing to alert on.
    const ended = await h.registry.metrics();
    expect(ended).not.toContain('llm_proxy_loop_interval_seconds{');
    expect(ended).not.toContain('llm_proxy_loop_last_success_timestamp_seconds{');
    expect(ended).toContain(
      'llm_proxy_loop_iterations_total{owner="unified_cache",task="monitor",outcome="failed"} 0',
    );
  });

  it('reports each running loop with its interval and the age of its last success', async () => {
    const h = harness();
    const scope = h.supervisor.scope('unified_cache');
    let release!: () => void;
    let runs = 0;
    scope.every(CACHE_CLEANUP, { intervalMs: 5, jitter: 0 }, async () => {
      runs++;
      if (runs === 2) await new Promise<void>((r) => (release = r));
    });
    await waitUntil('the second run started', () => runs === 2);
    await wait(30);
    const [stuck] = h.supervisor.loopHealth();
    expect(stuck).toMatchObject({ owner: 'unified_cache', task: 'cleanup', intervalMs: 5 });
    expect(stuck!.lastSuccessAt).toBeGreaterThan(0);
    expect(stuck!.sinceSuccessMs).toBeGreaterThanOrEqual(25);
    release();
    await waitUntil(
      'a run completed again',
      () => h.supervisor.loopHealth()[0]!.sinceSuccessMs < 25,
    );
    await scope.close();
    expect(h.supervisor.loopHealth()).toEqual([]);
  });

  it('counts from the loop start before the first iteration completes', async () => {
    const h = harness();
    const scope = h.supervisor.scope('unified_cache');
    scope.every(CACHE_CLEANUP, { intervalMs: 600_000, immediate: false }, async () => {});
    await wait(20);
    const [waiting] = h.supervisor.loopHealth();
    expect(waiting!.lastSuccessAt).toBeUndefined();
    expect(waiting!.sinceSuccessMs).toBeGreaterThanOrEqual(15);
    expect(
      await h.metric('llm_proxy_loop_last_success_timestamp_seconds', { task: 'cleanup' }),
    ).toBe(waiting!.startedAt / 1000);
    await scope.close();
  });
});
