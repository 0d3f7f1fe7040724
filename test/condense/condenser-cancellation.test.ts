/**
 * The seed's condenser cancellation tests, with work really in flight: a paused redis-server
 * (SIGSTOP) holds a `condenser_cache/evict` or `condenser_cache/persist` command unanswered,
 * and stop() cancels it (reason scope_closed) once its flush deadline has passed. The task
 * settles at once, the cancellation is counted, and nothing is left running or leaked.
 */
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CacheMetrics } from '../../src/cache/metrics.js';
import { CondenserCache } from '../../src/condense/index.js';
import { CONTRACT_TASKS, Supervisor } from '../../src/tasks/index.js';
import { parseExposition, sum } from '../../src/telemetry/exposition.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const PREFIX = 'cancel-test';
const key = (hash: string): string => `${PREFIX}:v1:sum:${hash}`;
/** How long stop() waits for pending writes before it cancels them. */
const FLUSH_MS = 200;

let server: RedisServer;
let admin: Redis;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});
afterEach(() => {
  server.resume();
  for (const c of clients.splice(0)) c.disconnect();
});

async function condenser() {
  // A command timeout far beyond the test: only cancellation can end a stalled command.
  const redis = new Redis(server.url, { commandTimeout: 20_000, maxRetriesPerRequest: 1 });
  clients.push(redis);
  await redis.ping();
  const registry = new Registry();
  const supervisor = new Supervisor({ registry, logger: silentLogger(), tasks: CONTRACT_TASKS });
  const cache = new CondenserCache({
    scope: supervisor.scope('condenser_cache'),
    metrics: new CacheMetrics(registry),
    logger: silentLogger(),
    redis,
    keyPrefix: PREFIX,
    maxEntries: 100,
    ttlSeconds: 60,
  });
  const read = async (name: string, labels: Record<string, string>): Promise<number> =>
    sum(parseExposition(await registry.metrics()), name, { owner: 'condenser_cache', ...labels });
  return { cache, supervisor, read };
}

/** Stops the cache and returns how long stop() took. */
async function timedStop(cache: CondenserCache): Promise<number> {
  const t0 = performance.now();
  await cache.stop(FLUSH_MS);
  return performance.now() - t0;
}

describe('condenser cache cancellation against a stalled Redis', () => {
  it('Redis eviction task cancellation: an in-flight evict is cancelled on stop, settles, nothing leaked', async () => {
    const { cache, supervisor, read } = await condenser();
    cache.set('stale', 'a summary to invalidate');
    expect(await cache.flush()).toBe(true);
    expect(await admin.exists(key('stale'))).toBe(1);

    server.pause();
    cache.delete('stale');
    expect(await read('llm_proxy_tasks_active', { task: 'evict' })).toBe(1);
    // The flush cannot finish: the DEL has no answer.
    expect(await cache.flush(50)).toBe(false);

    const stopMs = await timedStop(cache);
    expect(stopMs).toBeLessThan(2_000);
    expect(supervisor.liveCount()).toBe(0);
    expect(
      await read('llm_proxy_task_cancellations_total', { task: 'evict', reason: 'scope_closed' }),
    ).toBe(1);
    expect(
      await read('llm_proxy_tasks_finished_total', { task: 'evict', outcome: 'cancelled' }),
    ).toBe(1);
    expect(await read('llm_proxy_tasks_leaked_total', {})).toBe(0);
    // Memory dropped it at once, whatever Redis does with the DEL once it wakes.
    expect(cache.size).toBe(0);
  });

  it('shutdown cancellation: a persist hung on a paused Redis is cancelled by stop(), counted with its reason, nothing leaked', async () => {
    const { cache, supervisor, read } = await condenser();
    server.pause();
    cache.set('fresh', 'a summary never written');
    cache.set('other', 'another one');
    expect(await read('llm_proxy_tasks_active', { task: 'persist' })).toBe(2);

    const stopMs = await timedStop(cache);
    expect(stopMs).toBeLessThan(2_000);
    expect(supervisor.liveCount()).toBe(0);
    expect(
      await read('llm_proxy_task_cancellations_total', { task: 'persist', reason: 'scope_closed' }),
    ).toBe(2);
    expect(
      await read('llm_proxy_tasks_finished_total', { task: 'persist', outcome: 'cancelled' }),
    ).toBe(2);
    expect(
      await read('llm_proxy_tasks_finished_total', { task: 'persist', outcome: 'completed' }),
    ).toBe(0);
    expect(await read('llm_proxy_tasks_leaked_total', {})).toBe(0);
    // Memory kept the summaries: a cancelled Redis write loses only the shared copy.
    expect(await cache.get('fresh')).toBe('a summary never written');
  });
});
