import { SpanStatusCode } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { harness } from '../../test/support/tasks.js';
import {
  CACHE_CLEANUP,
  CACHE_REDIS_WRITE,
  FALLBACK_ATTEMPT,
  HEALTH_PROBE,
  HTTP_REQUEST,
} from './catalog.js';
import { defineTask } from './definition.js';
import { TaskCancelledError, TaskRejectedError, UndeclaredTaskError } from './errors.js';
import { sleep } from './timers.js';

const never = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => {
  unhandled.push(err);
};
process.on('unhandledRejection', onUnhandled);
afterEach(() => {
  expect(unhandled).toEqual([]);
  unhandled = [];
});

describe('Supervisor', () => {
  it('pre-initialises every contract owner/task pair to zero', async () => {
    const h = harness();
    const text = await h.registry.metrics();
    for (const pair of [
      'owner="http",task="request"',
      'owner="fallback_engine",task="attempt"',
      'owner="health_checker",task="loop"',
      'owner="health_checker",task="probe"',
      'owner="unified_cache",task="cleanup"',
      'owner="unified_cache",task="warm"',
      'owner="unified_cache",task="monitor"',
      'owner="unified_cache",task="redis_write"',
      'owner="condenser_cache",task="persist"',
      'owner="condenser_cache",task="evict"',
    ]) {
      expect(text).toContain(`llm_proxy_tasks_active{${pair}} 0`);
      expect(text).toContain(`llm_proxy_tasks_leaked_total{${pair}} 0`);
      expect(text).toContain(`llm_proxy_tasks_finished_total{${pair},outcome="timed_out"} 0`);
      expect(text).toContain(`llm_proxy_tasks_rejected_total{${pair},reason="limit"} 0`);
    }
    expect(text).toContain('llm_proxy_shutdown_duration_seconds 0');
  });

  it('tracks a task while it runs and forgets it once it completes', async () => {
    const h = harness();
    const scope = h.supervisor.scope('http');
    let release!: () => void;
    const handle = scope.spawn(
      HTTP_REQUEST,
      () => new Promise<string>((r) => (release = () => r('ok'))),
    );
    expect(h.supervisor.liveCount()).toBe(1);
    expect(h.supervisor.snapshot()[0]).toMatchObject({
      owner: 'http',
      task: 'request',
      state: 'running',
      leaked: false,
    });
    expect(await h.metric('llm_proxy_tasks_active', { owner: 'http' })).toBe(1);
    release();
    expect(await handle.settled).toEqual({ outcome: 'completed', value: 'ok' });
    expect(h.supervisor.liveCount()).toBe(0);
    expect(await h.metric('llm_proxy_tasks_active', { owner: 'http' })).toBe(0);
    expect(
      await h.metric('llm_proxy_tasks_finished_total', { owner: 'http', outcome: 'completed' }),
    ).toBe(1);
    expect(
      await h.metric('llm_proxy_task_duration_seconds_count', {
        owner: 'http',
        outcome: 'completed',
      }),
    ).toBe(1);
  });

  it('rejects a task name that was never declared', () => {
    const h = harness();
    const rogue = defineTask('rogue', 'task');
    expect(() => h.supervisor.scope('x').spawn(rogue, async () => {})).toThrow(UndeclaredTaskError);
  });

  it('cancel(reason) aborts the signal with a typed reason and records the cancellation', async () => {
    const h = harness();
    const handle = h.supervisor
      .scope('fallback_engine')
      .spawn(FALLBACK_ATTEMPT, async ({ signal }) => {
        await never(signal);
        throw signal.reason;
      });
    handle.cancel('lost_race');
    const result = await handle.settled;
    expect(result).toMatchObject({ outcome: 'cancelled', reason: 'lost_race' });
    expect(result.outcome === 'cancelled' && result.error).toBeInstanceOf(TaskCancelledError);
    expect(
      await h.metric('llm_proxy_task_cancellations_total', {
        task: 'attempt',
        reason: 'lost_race',
      }),
    ).toBe(1);
    expect(
      await h.metric('llm_proxy_task_cancel_duration_seconds_count', { task: 'attempt' }),
    ).toBe(1);
  });

  it('a signal first read after cancellation is already aborted', async () => {
    const h = harness();
    let seen: boolean | undefined;
    const handle = h.supervisor.scope('http').spawn(HTTP_REQUEST, async (ctx) => {
      await wait(5);
      seen = ctx.signal.aborted;
    });
    handle.cancel();
    await handle.settled;
    expect(seen).toBe(true);
  });

  it('onCancel hooks run on cancel with the reason, before the signal aborts, and can be unhooked', async () => {
    const errors: unknown[] = [];
    const h = harness({ onError: (err) => errors.push(err) });
    const seen: string[] = [];
    const handle = h.supervisor.scope('fallback_engine').spawn(FALLBACK_ATTEMPT, async (ctx) => {
      ctx.onCancel((reason) => seen.push(`first:${reason}:signal aborted=${ctx.signal.aborted}`));
      ctx.onCancel(() => {
        throw new Error('a broken hook');
      });
      const unhooked = ctx.onCancel(() => seen.push('unhooked'));
      unhooked();
      ctx.onCancel((reason) => seen.push(`last:${reason}`));
      await never(ctx.signal);
      // Hooked after the fact: called at once.
      ctx.onCancel((reason) => seen.push(`late:${reason}`));
    });
    handle.cancel('lost_race');
    const result = await handle.settled;
    expect(result.outcome).toBe('cancelled');
    expect(seen).toEqual([
      'first:lost_race:signal aborted=false',
      'last:lost_race',
      'late:lost_race',
    ]);
    expect(errors).toEqual([new Error('a broken hook')]);
  });

  it('onCancel after a task settled never calls back', async () => {
    const h = harness();
    let ctx!: { onCancel(fn: () => void): () => void };
    const handle = h.supervisor.scope('http').spawn(HTTP_REQUEST, (c) => {
      ctx = c;
      return Promise.resolve();
    });
    await handle.settled;
    let called = false;
    ctx.onCancel(() => (called = true));
    handle.cancel();
    expect(called).toBe(false);
  });

  it('closing a scope cancels its children, nested scopes included, and waits for them', async () => {
    const h = harness();
    const scope = h.supervisor.scope('fallback_engine');
    const inner = scope.scope('inner');
    const order: string[] = [];
    const a = scope.spawn(FALLBACK_ATTEMPT, async ({ signal }) => {
      await never(signal);
      await wait(10);
      order.push('a settled');
    });
    const b = inner.spawn(FALLBACK_ATTEMPT, async ({ signal }) => {
      await never(signal);
      order.push('b settled');
    });
    const summary = await scope.close();
    order.push('close returned');
    expect(order).toEqual(['b settled', 'a settled', 'close returned']);
    expect(summary).toMatchObject({ cancelled: 2, unsettled: 0 });
    expect((await a.settled).outcome).toBe('cancelled');
    expect(await b.settled).toMatchObject({ outcome: 'cancelled', reason: 'scope_closed' });
  });

  it("a task's own scope is cancelled with it and closed when it settles", async () => {
    const h = harness();
    let child: Promise<unknown> | undefined;
    const parent = h.supervisor.scope('http').spawn(HTTP_REQUEST, async (ctx) => {
      child = ctx.scope.spawn(FALLBACK_ATTEMPT, ({ signal }) => never(signal)).settled;
      await never(ctx.signal);
    });
    await wait(1);
    expect(h.supervisor.liveCount()).toBe(2);
    parent.cancel('client_gone');
    expect(await child).toMatchObject({ outcome: 'cancelled', reason: 'client_gone' });
    await parent.settled;
    expect(h.supervisor.liveCount()).toBe(0);
  });

  it('spawning into a closing or closed scope is rejected with a typed error and counted', async () => {
    const h = harness();
    const scope = h.supervisor.scope('unified_cache');
    scope.spawn(CACHE_REDIS_WRITE, ({ signal }) => never(signal));
    const closing = scope.close();
    expect(() => scope.spawn(CACHE_REDIS_WRITE, async () => {})).toThrow(TaskRejectedError);
    await closing;
    try {
      scope.spawn(CACHE_REDIS_WRITE, async () => {});
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TaskRejectedError);
      expect((err as TaskRejectedError).reason).toBe('closed');
      expect((err as TaskRejectedError).code).toBe('LLMP_TASK_REJECTED');
    }
    expect(
      await h.metric('llm_proxy_tasks_rejected_total', { task: 'redis_write', reason: 'closed' }),
    ).toBe(2);
  });

  it('enforces a per-name concurrency limit, counting rejections', async () => {
    const h = harness({ overrides: { 'health_checker/probe': { maxConcurrent: 2 } } });
    const scope = h.supervisor.scope('health_checker');
    const running = [1, 2].map(() => scope.spawn(HEALTH_PROBE, ({ signal }) => never(signal)));
    expect(() => scope.spawn(HEALTH_PROBE, async () => {})).toThrow(/concurrency limit/);
    expect(
      await h.metric('llm_proxy_tasks_rejected_total', { task: 'probe', reason: 'limit' }),
    ).toBe(1);
    running[0]!.cancel();
    await running[0]!.settled;
    const third = scope.spawn(HEALTH_PROBE, async () => 'fits again');
    expect(await third.settled).toEqual({ outcome: 'completed', value: 'fits again' });
    await scope.close();
  });

  it('a deadline cancels the task with reason deadline and outcome timed_out', async () => {
    const h = harness();
    const handle = h.supervisor
      .scope('health_checker')
      .spawn(HEALTH_PROBE, ({ signal }) => never(signal), { deadlineMs: 20 });
    expect(await handle.settled).toMatchObject({ outcome: 'timed_out', reason: 'deadline' });
    expect(
      await h.metric('llm_proxy_tasks_finished_total', { task: 'probe', outcome: 'timed_out' }),
    ).toBe(1);
    expect(
      await h.metric('llm_proxy_task_cancellations_total', { task: 'probe', reason: 'deadline' }),
    ).toBe(1);
  });

  it('a failure is the failed outcome, passed to the error handler, never an unhandled rejection', async () => {
    const seen: unknown[] = [];
    const h = harness({
      onError: (err, t) => seen.push([(err as Error).message, t.owner, t.task]),
    });
    const handle = h.supervisor.scope('http').spawn(HTTP_REQUEST, async () => {
      throw new Error('boom');
    });
    const sync = h.supervisor.scope('http2').spawn(HTTP_REQUEST, () => {
      throw new Error('sync boom');
    });
    expect((await handle.settled).outcome).toBe('failed');
    expect((await sync.settled).outcome).toBe('failed');
    await wait(10);
    expect(seen).toHaveLength(2);
    expect(seen).toContainEqual(['boom', 'http', 'request']);
    expect(seen).toContainEqual(['sync boom', 'http', 'request']);
    expect(
      await h.metric('llm_proxy_tasks_finished_total', { task: 'request', outcome: 'failed' }),
    ).toBe(2);
    const span = h.spans.getFinishedSpans().find((s) => s.status.code === SpanStatusCode.ERROR);
    expect(span?.events.some((e) => e.name === 'exception')).toBe(true);
  });
});

describe('periodic loops', () => {
  it('stop promptly in the middle of a long sleep', async () => {
    const h = harness();
    const scope = h.supervisor.scope('unified_cache');
    let runs = 0;
    scope.every(CACHE_CLEANUP, { intervalMs: 600_000 }, async () => {
      runs++;
    });
    await wait(20);
    const started = performance.now();
    const summary = await scope.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(runs).toBe(1);
    expect(summary.unsettled).toBe(0);
    expect(
      await h.metric('llm_proxy_tasks_finished_total', { task: 'cleanup', outcome: 'cancelled' }),
    ).toBe(1);
  });

  it('never overlap runs and keep going after a failing run', async () => {
    const errors: unknown[] = [];
    const h = harness({ onError: (e) => errors.push(e) });
    const scope = h.supervisor.scope('unified_cache');
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    scope.every(CACHE_CLEANUP, { intervalMs: 1, jitter: 0 }, async ({ signal }) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      runs++;
      await sleep(5, signal);
      inFlight--;
      if (runs === 2) throw new Error('one bad run');
    });
    await wait(80);
    await scope.close();
    expect(runs).toBeGreaterThan(3);
    expect(maxInFlight).toBe(1);
    expect(errors.map((e) => (e as Error).message)).toEqual(['one bad run']);
  });
});

describe('leak detection', () => {
  it('reports a task that ignores its cancellation past the grace period, then recovers the gauge', async () => {
    const h = harness({ overrides: { 'fallback_engine/attempt': { graceMs: 30 } } });
    let finish!: () => void;
    const handle = h.supervisor
      .scope('fallback_engine')
      .spawn(FALLBACK_ATTEMPT, () => new Promise<void>((r) => (finish = r)));
    handle.cancel('lost_race');
    await wait(80);
    expect(await h.metric('llm_proxy_tasks_leaked', { task: 'attempt' })).toBe(1);
    expect(await h.metric('llm_proxy_tasks_leaked_total', { task: 'attempt' })).toBe(1);
    expect(h.supervisor.snapshot()[0]).toMatchObject({
      leaked: true,
      state: 'cancelling',
      cancelReason: 'lost_race',
    });

    const warning = h.logs.filter((l) => String(l.msg).startsWith('task leaked'));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatchObject({ level: 'warn', owner: 'fallback_engine', task: 'attempt' });
    expect(warning[0]!.site).toMatch(/catalog\.(ts|js):\d+:\d+/);
    expect(warning[0]!.ageMs).toBeGreaterThanOrEqual(30);

    const span = h.spans.getFinishedSpans().find((s) => s.name === 'fallback_engine/attempt');
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['error.type']).toBe('TaskLeakedError');
    expect(span?.attributes['task.cancel.reason']).toBe('lost_race');

    finish();
    await handle.settled;
    expect(await h.metric('llm_proxy_tasks_leaked', { task: 'attempt' })).toBe(0);
    expect(await h.metric('llm_proxy_tasks_leaked_total', { task: 'attempt' })).toBe(1);
    expect(await h.metric('llm_proxy_tasks_active', { task: 'attempt' })).toBe(0);
    expect(
      h.spans.getFinishedSpans().filter((s) => s.name === 'fallback_engine/attempt'),
    ).toHaveLength(1);
  });

  it('a cancelled task that settles within its grace period is not leaked and its span has no error', async () => {
    const h = harness({ overrides: { 'fallback_engine/attempt': { graceMs: 50 } } });
    const handle = h.supervisor.scope('fe').spawn(FALLBACK_ATTEMPT, async ({ signal }) => {
      await never(signal);
      await wait(5);
    });
    handle.cancel('explicit');
    await handle.settled;
    await wait(80);
    expect(await h.metric('llm_proxy_tasks_leaked_total')).toBe(0);
    const span = h.spans.getFinishedSpans()[0]!;
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes).toMatchObject({
      'task.outcome': 'cancelled',
      'task.cancel.reason': 'explicit',
    });
  });

  it('shutdown cancels everything and reports tasks still running after their grace as leaked', async () => {
    const h = harness({ overrides: { 'unified_cache/redis_write': { graceMs: 20 } } });
    const cache = h.supervisor.scope('unified_cache');
    const polite = cache.spawn(CACHE_CLEANUP, ({ signal }) => never(signal));
    let finish!: () => void;
    const stubborn = cache.spawn(CACHE_REDIS_WRITE, () => new Promise<void>((r) => (finish = r)));
    const summary = await h.supervisor.shutdown(100);
    expect(summary).toMatchObject({ cancelled: 2, unsettled: 1 });
    expect(await polite.settled).toMatchObject({ outcome: 'cancelled', reason: 'shutdown' });
    expect(await h.metric('llm_proxy_tasks_leaked', { task: 'redis_write' })).toBe(1);
    // A leaked task stays visible until it settles, even though its scope is closed.
    expect(h.supervisor.snapshot()).toMatchObject([{ task: 'redis_write', leaked: true }]);
    finish();
    await stubborn.settled;
    expect(h.supervisor.liveCount()).toBe(0);
  });

  it('captures a full spawn stack only when asked to', async () => {
    const plain = harness();
    const debug = harness({ captureSpawnStacks: true });
    for (const h of [plain, debug])
      h.supervisor.scope('http').spawn(HTTP_REQUEST, ({ signal }) => never(signal));
    expect(plain.supervisor.snapshot()[0]!.spawnStack).toBeUndefined();
    expect(debug.supervisor.snapshot()[0]!.spawnStack).toContain('supervisor.test.ts');
    await plain.supervisor.shutdown();
    await debug.supervisor.shutdown();
  });
});

describe('no residue', () => {
  it('100k tasks leave nothing behind in scopes, metrics or listeners', async () => {
    const h = harness({ tracer: undefined });
    const scope = h.supervisor.scope('http');
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < 100_000; i++) {
      const t = scope.spawn(HTTP_REQUEST, async (ctx) => {
        if (i % 2 === 0) void ctx.signal;
        if (i % 10 === 0) await ctx.scope.spawn(FALLBACK_ATTEMPT, async () => i).settled;
        return i;
      });
      if (i % 3 === 0) t.cancel();
      batch.push(t.settled);
      if (batch.length === 1_000) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    expect(h.supervisor.liveCount()).toBe(0);
    expect(h.supervisor.snapshot()).toEqual([]);
    expect(await h.metric('llm_proxy_tasks_started_total')).toBe(110_000);
    expect(await h.metric('llm_proxy_tasks_finished_total')).toBe(110_000);
    expect(await h.metric('llm_proxy_tasks_active')).toBe(0);
    expect((scope as unknown as { size: number; head: unknown }).size).toBe(0);
    expect((scope as unknown as { size: number; head: unknown }).head).toBeUndefined();
    expect((scope as unknown as { children: Set<unknown> }).children.size).toBe(0);
  });
});

describe('tracing', () => {
  it('makes one span per task, child of the scope context, with outcome attributes', async () => {
    const h = harness();
    const parent = h.supervisor.scope('http').spawn(HTTP_REQUEST, async (ctx) => {
      await ctx.scope.spawn(FALLBACK_ATTEMPT, async () => 1).settled;
    });
    await parent.settled;
    const spans = h.spans.getFinishedSpans();
    const req = spans.find((s) => s.name === 'http/request')!;
    const attempt = spans.find((s) => s.name === 'fallback_engine/attempt')!;
    expect(attempt.parentSpanContext?.spanId).toBe(req.spanContext().spanId);
    expect(attempt.spanContext().traceId).toBe(req.spanContext().traceId);
    expect(req.attributes).toMatchObject({
      'task.owner': 'http',
      'task.name': 'request',
      'task.outcome': 'completed',
    });
  });

  it('makes no spans at all without a tracer', async () => {
    const h = harness({ tracer: undefined });
    await h.supervisor.scope('http').spawn(HTTP_REQUEST, async () => 1).settled;
    expect(h.spans.getFinishedSpans()).toHaveLength(0);
  });
});
