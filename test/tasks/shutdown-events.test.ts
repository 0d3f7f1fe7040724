/**
 * The seed's "shutdown event handling": the app's shutdown path (app.close(), what SIGTERM
 * and SIGINT run before the process exits) lets an in-flight request finish, then cancels
 * every background task with the reason that says why: the caches' loops and writer with
 * `scope_closed` (each cache closes its own scope), the health loop with `shutdown`. Nothing
 * else is cancelled, nothing is left running or leaked, and the summary says the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { parseExposition, select } from '../../src/telemetry/exposition.js';
import { startProxy } from '../support/proxy.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

let upstream: FakeUpstream;
let redis: RedisServer;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'up', latencyMs: 300 });
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
  await upstream.close();
});

describe('shutdown event handling', () => {
  it('finishes the request in flight and cancels each background task with its reason', async () => {
    const proxy = await startProxy({
      providers: [
        { name: 'up', type: 'openai', baseUrl: `${upstream.url}/v1`, models: ['gpt-4o-mini'] },
      ],
      routing: { healthCheck: { enabled: true, intervalMs: 60_000, timeoutMs: 5_000 } },
      cache: {
        redis: { url: redis.url, keyPrefix: 'shutdown-events' },
        cleanupIntervalMs: 60_000,
        monitorIntervalMs: 60_000,
      },
      server: { shutdownDeadlineMs: 5_000 },
    });
    const active = (owner: string, task: string) =>
      proxy.metric('llm_proxy_tasks_active', { owner, task });
    try {
      // One-shot start-up work has ended: the warm-up, the first health probe.
      await expect
        .poll(
          async () => [
            await active('unified_cache', 'warm'),
            await active('health_checker', 'probe'),
          ],
          {
            timeout: 5_000,
          },
        )
        .toEqual([0, 0]);
      expect(await active('health_checker', 'loop')).toBe(1);

      const inFlight = proxy.client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'finish me' }],
      });
      await upstream.waitFor((e) => e.kind === 'request' && e.path === '/v1/chat/completions');
      const summary = await proxy.app.close();

      expect((await inFlight).choices[0]?.message.content).toBe('echo: finish me');
      const cancelled: Record<string, string> = {};
      const samples = parseExposition(await proxy.metricsText());
      for (const s of select(samples, 'llm_proxy_task_cancellations_total')) {
        if (s.value === 0) continue;
        expect(s.value).toBe(1);
        cancelled[`${s.labels.owner}/${s.labels.task}`] = s.labels.reason!;
      }
      expect(cancelled).toEqual({
        'health_checker/loop': 'shutdown',
        'unified_cache/cleanup': 'scope_closed',
        'unified_cache/monitor': 'scope_closed',
        'unified_cache/redis_write': 'scope_closed',
      });
      expect(summary).toMatchObject({
        state: 'stopped',
        requestsFinished: true,
        cancelledTasks: 4,
        cancelledByReason: { shutdown: 1, scope_closed: 3 },
        unsettledTasks: 0,
        activeTasks: 0,
        leakedTotal: 0,
      });
      expect(proxy.app.state).toBe('stopped');
    } finally {
      await proxy.stop();
    }
  });
});
