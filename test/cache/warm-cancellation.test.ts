/**
 * The seed's "warming task cancellation": a `unified_cache/warm` still waiting on Redis when
 * the cache stops is cancelled by stop() (reason scope_closed) and settles at once, without
 * waiting for its command, and nothing is left running or leaked. (A warm-up left to run
 * loads the hot set: test/cache/unified-cache.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sum } from '../../src/telemetry/exposition.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { buildCache, metricSum } from './harness.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  server.resume();
  await server.stop();
});

const WARM = { owner: 'unified_cache', task: 'warm' };

describe('warming task cancellation on stop', () => {
  it('cancels a warm-up stalled on a paused Redis when the cache stops; it settles at once, nothing leaked', async () => {
    // A command timeout far beyond the test: only cancellation can end the warm-up early.
    const b = await buildCache({
      redisUrl: server.url,
      commandTimeoutMs: 20_000,
      warm: { enabled: true, maxKeys: 100, timeoutMs: 20_000 },
    });
    const read = async (name: string, labels: Record<string, string> = {}) =>
      sum(parseExposition(await b.registry.metrics()), name, { ...WARM, ...labels });
    try {
      server.pause();
      b.cache.start();
      expect(await read('llm_proxy_tasks_active')).toBe(1);

      const stopping = performance.now();
      const stopped = await b.cache.stop(5_000);
      const stopMs = performance.now() - stopping;
      expect(stopped.unsettled).toBe(0);
      // Well short of the command timeout: the warm-up did not wait for Redis.
      expect(stopMs).toBeLessThan(2_000);
      expect(await read('llm_proxy_task_cancellations_total', { reason: 'scope_closed' })).toBe(1);
      expect(await read('llm_proxy_tasks_finished_total', { outcome: 'cancelled' })).toBe(1);
      expect(await read('llm_proxy_tasks_active')).toBe(0);
      expect(b.supervisor.liveCount()).toBe(0);
      // Being cancelled is not a Redis error.
      expect(b.metrics.redisErrors.warm.value).toBe(0);
    } finally {
      server.resume();
      await b.close();
    }
    expect(await metricSum(b.registry, 'llm_proxy_tasks_leaked_total')).toBe(0);
  });
});
