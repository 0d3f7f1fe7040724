/**
 * CondenserCache.clear(): memory at once, and every summary key of the prefix in Redis (its
 * own and other replicas') through one `condenser_cache/clear` task; claims and other
 * prefixes' keys are left alone. A clear stalled on Redis is cancelled by stop().
 */
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CacheMetrics } from '../../src/cache/metrics.js';
import { CondenserCache } from '../../src/condense/index.js';
import {
  CONTRACT_TASKS,
  Supervisor,
  TaskCancelledError,
  TaskRejectedError,
} from '../../src/tasks/index.js';
import { parseExposition, sum } from '../../src/telemetry/exposition.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const PREFIX = 'clear-test';
const key = (hash: string, prefix = PREFIX): string => `${prefix}:v1:sum:${hash}`;

let server: RedisServer;
let admin: Redis;
const clients: Redis[] = [];
const caches: { cache: CondenserCache; supervisor: Supervisor; registry: Registry }[] = [];

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await admin.flushall();
});
afterEach(async () => {
  server.resume();
  for (const { cache, supervisor, registry } of caches.splice(0)) {
    await cache.stop(2_000);
    expect(supervisor.liveCount()).toBe(0);
    expect(sum(parseExposition(await registry.metrics()), 'llm_proxy_tasks_leaked_total')).toBe(0);
  }
  for (const c of clients.splice(0)) c.disconnect();
});

async function condenser(o: { redis?: boolean; prefix?: string; commandTimeout?: number } = {}) {
  let redis: Redis | undefined;
  if (o.redis !== false) {
    redis = new Redis(server.url, {
      commandTimeout: o.commandTimeout ?? 1_000,
      maxRetriesPerRequest: 1,
    });
    clients.push(redis);
    await redis.ping();
  }
  const registry = new Registry();
  const supervisor = new Supervisor({ registry, logger: silentLogger(), tasks: CONTRACT_TASKS });
  const cache = new CondenserCache({
    scope: supervisor.scope('condenser_cache'),
    metrics: new CacheMetrics(registry),
    logger: silentLogger(),
    redis,
    keyPrefix: o.prefix ?? PREFIX,
    maxEntries: 100,
    ttlSeconds: 60,
  });
  caches.push({ cache, supervisor, registry });
  const clearTasks = async (labels: Record<string, string> = {}): Promise<number> =>
    sum(parseExposition(await registry.metrics()), 'llm_proxy_tasks_finished_total', {
      owner: 'condenser_cache',
      task: 'clear',
      ...labels,
    });
  return { cache, clearTasks };
}

describe('CondenserCache.clear()', () => {
  it('empties memory and deletes every summary key of its prefix in Redis, in one condenser_cache/clear task', async () => {
    const { cache, clearTasks } = await condenser();
    for (const h of ['a', 'b', 'c']) cache.set(h, `summary ${h}`);
    expect(await cache.flush()).toBe(true);
    // Written by another replica sharing the prefix: cleared too.
    await admin.set(key('from-elsewhere'), 'theirs', 'EX', 60);
    // Left alone: another prefix's summary, and a replica's claim on making one.
    await admin.set(key('a', 'other-prefix'), 'not ours', 'EX', 60);
    await admin.set(cache.claimKey('d'), 'token', 'PX', 5_000);

    expect(await cache.clear()).toEqual({ memory: 3, redis: 4 });
    expect(cache.size).toBe(0);
    expect(await cache.get('a')).toBeUndefined();
    expect(await admin.keys(`${PREFIX}:v1:sum:*`)).toEqual([]);
    expect(await admin.get(key('a', 'other-prefix'))).toBe('not ours');
    expect(await admin.exists(cache.claimKey('d'))).toBe(1);
    expect(await clearTasks({ outcome: 'completed' })).toBe(1);
  });

  it('deletes in batches: more keys than one SCAN returns', async () => {
    const { cache } = await condenser();
    const pipe = admin.pipeline();
    for (let i = 0; i < 1_200; i++) pipe.set(key(`bulk-${i}`), 'x', 'EX', 60);
    await pipe.exec();
    expect(await cache.clear()).toEqual({ memory: 0, redis: 1_200 });
    expect(await admin.dbsize()).toBe(0);
  });

  it('leaves no summary written just before it: a pending write is forgotten or deleted', async () => {
    const { cache } = await condenser();
    cache.set('racing', 'written as clear() begins');
    await cache.clear();
    expect(await cache.flush()).toBe(true);
    expect(await admin.exists(key('racing'))).toBe(0);
    expect(await cache.get('racing')).toBeUndefined();
  });

  it('clears memory only, spawning no task, without Redis', async () => {
    const { cache, clearTasks } = await condenser({ redis: false });
    cache.set('m', 'memory');
    expect(await cache.clear()).toEqual({ memory: 1, redis: 0 });
    expect(await cache.get('m')).toBeUndefined();
    expect(await clearTasks()).toBe(0);
  });

  it('is refused once the cache stopped, memory cleared all the same', async () => {
    const { cache } = await condenser();
    await cache.stop(1_000);
    cache.set('late', 'memory only');
    await expect(cache.clear()).rejects.toBeInstanceOf(TaskRejectedError);
    expect(cache.size).toBe(0);
  });

  it('is cancelled by stop() while stalled on a paused Redis, and settles at once', async () => {
    const { cache, clearTasks } = await condenser({ commandTimeout: 20_000 });
    server.pause();
    const clearing = cache.clear();
    const outcome = expect(clearing).rejects.toBeInstanceOf(TaskCancelledError);
    const t0 = performance.now();
    await cache.stop(100);
    expect(performance.now() - t0).toBeLessThan(2_000);
    await outcome;
    expect(await clearTasks({ outcome: 'cancelled' })).toBe(1);
  });
});
