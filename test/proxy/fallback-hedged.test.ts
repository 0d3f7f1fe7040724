/**
 * Hedged routing through the real server: the primary starts alone; only if it has not
 * answered after hedgeDelayMs does the next provider start, and the first answer wins. The
 * hedge delay runs as a `fallback_engine/hedge` task of the request, so it is in the task
 * metrics and never outlives its request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Fixtures,
  attempts,
  cancellations,
  chatBody,
  chatDisconnect,
  chatRequests,
  provider,
  proxyConfig,
} from './fallback-support.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const HEDGE_DELAY_MS = 150;
const HEDGED = { mode: 'hedged', maxParallel: 2, hedgeDelayMs: HEDGE_DELAY_MS };

describe('hedged fallback', () => {
  it('starts the hedge after hedgeDelayMs when the primary is slow; the hedge wins, the primary is cancelled', async () => {
    const primary = await fx.upstream('primary', { latencyMs: 5_000 });
    const hedge = await fx.upstream('hedge');
    const proxy = await fx.proxy(
      proxyConfig(
        [provider('primary', primary, { priority: 1 }), provider('hedge', hedge, { priority: 2 })],
        HEDGED,
      ),
    );

    const sentAt = Date.now();
    const { response } = await proxy.client.chat.completions
      .create(chatBody('hedge me'))
      .withResponse();

    expect(response.headers.get('x-llm-proxy-provider')).toBe('hedge');
    expect(chatRequests(primary)).toHaveLength(1);
    const [hedged] = chatRequests(hedge);
    // The hedge's clock starts when the proxy took the request, after `sentAt`: it can
    // only arrive later than hedgeDelayMs after it (1 ms slack for Date.now() rounding).
    const delay = hedged!.at - sentAt;
    expect(delay).toBeGreaterThanOrEqual(HEDGE_DELAY_MS - 1);
    expect(delay).toBeLessThan(HEDGE_DELAY_MS + 1_000);
    await chatDisconnect(primary);
    await expect.poll(() => attempts(proxy, 'primary')).toEqual({ won: 0, lost: 1, failed: 0 });
    expect(await attempts(proxy, 'hedge')).toEqual({ won: 1, lost: 0, failed: 0 });
    expect(await cancellations(proxy, 'fallback_engine', 'lost_race', 'attempt')).toBe(1);
    await proxy.stop();
  });

  it('sends no hedge request at all when the primary answers within hedgeDelayMs', async () => {
    const primary = await fx.upstream('primary');
    const hedge = await fx.upstream('hedge');
    const proxy = await fx.proxy(
      proxyConfig(
        [provider('primary', primary, { priority: 1 }), provider('hedge', hedge, { priority: 2 })],
        HEDGED,
      ),
    );

    const { response } = await proxy.client.chat.completions
      .create(chatBody('no hedge'))
      .withResponse();
    expect(response.headers.get('x-llm-proxy-provider')).toBe('primary');
    // A negative can only be seen by waiting: past the moment the hedge would have started.
    await new Promise((r) => setTimeout(r, HEDGE_DELAY_MS * 2));

    expect(hedge.requests).toBe(0);
    expect(await attempts(proxy, 'hedge')).toEqual({ won: 0, lost: 0, failed: 0 });
    expect(await cancellations(proxy, 'fallback_engine', 'lost_race', 'attempt')).toBe(0);
    // Only the hedge timer lost: it was cancelled before it fired.
    expect(await cancellations(proxy, 'fallback_engine', 'lost_race', 'hedge')).toBe(1);
    await proxy.stop();
  });

  it('starts the hedge at once, ahead of hedgeDelayMs, when the primary fails', async () => {
    const primary = await fx.upstream('primary', { behaviour: 'fail' });
    const hedge = await fx.upstream('hedge');
    const proxy = await fx.proxy(
      proxyConfig(
        [provider('primary', primary, { priority: 1 }), provider('hedge', hedge, { priority: 2 })],
        { ...HEDGED, hedgeDelayMs: 10_000 },
      ),
    );

    const started = performance.now();
    const { response } = await proxy.client.chat.completions
      .create(chatBody('primary fails'))
      .withResponse();

    expect(response.headers.get('x-llm-proxy-provider')).toBe('hedge');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await attempts(proxy, 'primary')).toEqual({ won: 0, lost: 0, failed: 1 });
    await proxy.stop();
  });

  it('runs the hedge delay as a fallback_engine/hedge task: started, settled, nothing left active', async () => {
    const primary = await fx.upstream('primary', { latencyMs: 1_000 });
    const hedge = await fx.upstream('hedge');
    const proxy = await fx.proxy(
      proxyConfig(
        [provider('primary', primary, { priority: 1 }), provider('hedge', hedge, { priority: 2 })],
        HEDGED,
      ),
    );
    const hedgeTask = (name: string, labels: Record<string, string> = {}) =>
      proxy.metric(name, { owner: 'fallback_engine', task: 'hedge', ...labels });

    // The primary is slow: the timer fires, starts the hedge and completes.
    const slow = await proxy.client.chat.completions
      .create(chatBody('slow primary'))
      .withResponse();
    expect(slow.response.headers.get('x-llm-proxy-provider')).toBe('hedge');
    await expect.poll(() => hedgeTask('llm_proxy_tasks_finished_total')).toBe(1);
    expect(await hedgeTask('llm_proxy_tasks_started_total')).toBe(1);
    expect(await hedgeTask('llm_proxy_tasks_finished_total', { outcome: 'completed' })).toBe(1);
    // Its wait is in the duration histogram: at least the hedge delay.
    expect(
      await hedgeTask('llm_proxy_task_duration_seconds_sum', { outcome: 'completed' }),
    ).toBeGreaterThanOrEqual((HEDGE_DELAY_MS - 1) / 1000);

    // The primary is fast: the timer is cancelled before it fires.
    primary.set({ latencyMs: 0 });
    const fast = await proxy.client.chat.completions
      .create(chatBody('fast primary'))
      .withResponse();
    expect(fast.response.headers.get('x-llm-proxy-provider')).toBe('primary');
    await expect.poll(() => hedgeTask('llm_proxy_tasks_finished_total')).toBe(2);
    expect(await hedgeTask('llm_proxy_tasks_started_total')).toBe(2);
    expect(await hedgeTask('llm_proxy_tasks_finished_total', { outcome: 'cancelled' })).toBe(1);
    expect(await hedgeTask('llm_proxy_task_cancellations_total', { reason: 'lost_race' })).toBe(1);

    expect(await hedgeTask('llm_proxy_tasks_active')).toBe(0);
    expect(await hedgeTask('llm_proxy_tasks_leaked_total')).toBe(0);
    expect(proxy.app.supervisor.snapshot().filter((t) => t.task === 'hedge')).toEqual([]);
    await chatDisconnect(primary);
    await proxy.stop();
  });
});
