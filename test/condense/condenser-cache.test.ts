import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CacheMetrics } from '../../src/cache/metrics.js';
import { CondenserCache } from '../../src/condense/index.js';
import { CONTRACT_TASKS, Supervisor } from '../../src/tasks/index.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const PREFIX = 'llmp-test';
const key = (hash: string): string => `${PREFIX}:v1:sum:${hash}`;

interface Replica {
  registry: Registry;
  supervisor: Supervisor;
  metrics: CacheMetrics;
  cache: CondenserCache;
}

async function seriesValue(registry: Registry, name: string, labels: string): Promise<number> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  if (line === undefined) throw new Error(`no series ${name}{${labels}}`);
  return Number(line.split(' ').pop());
}

async function leakedTotals(registry: Registry): Promise<number[]> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith('llm_proxy_tasks_leaked_total{'))
    .map((l) => Number(l.split(' ').pop()));
}

describe('CondenserCache with a real Redis', () => {
  let server: RedisServer;
  let admin: Redis;
  const clients: Redis[] = [];
  const replicas: Replica[] = [];

  const client = (): Redis => {
    const r = new Redis(server.url, {
      commandTimeout: 300,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 50,
    });
    r.on('error', () => undefined); // connection errors while Redis is killed are expected
    clients.push(r);
    return r;
  };

  async function replica(
    over: { maxEntries?: number; ttlSeconds?: number; redis?: Redis | undefined } = {},
  ) {
    const redis = 'redis' in over ? over.redis : client();
    if (redis !== undefined && redis.status !== 'ready') await redis.ping();
    const registry = new Registry();
    const supervisor = new Supervisor({ registry, logger: silentLogger(), tasks: CONTRACT_TASKS });
    const metrics = new CacheMetrics(registry);
    const cache = new CondenserCache({
      scope: supervisor.scope('condenser_cache'),
      metrics,
      logger: silentLogger(),
      redis,
      keyPrefix: PREFIX,
      maxEntries: over.maxEntries ?? 100,
      ttlSeconds: over.ttlSeconds ?? 60,
    });
    const r: Replica = { registry, supervisor, metrics, cache };
    replicas.push(r);
    return r;
  }

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    admin.on('error', () => undefined);
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });
  beforeEach(async () => {
    await admin.flushall();
  });
  afterEach(async () => {
    for (const { cache } of replicas.splice(0)) await cache.stop(2_000);
    for (const c of clients.splice(0)) c.disconnect();
  });

  it('persists one write as exactly one key with a TTL', async () => {
    const { cache, registry } = await replica({ ttlSeconds: 120 });
    cache.set('abc', 'the summary');
    expect(await cache.flush()).toBe(true);
    expect(await admin.keys(`${PREFIX}:*`)).toEqual([key('abc')]);
    expect(await admin.get(key('abc'))).toBe('the summary');
    const ttl = await admin.ttl(key('abc'));
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
    expect(
      await seriesValue(
        registry,
        'llm_proxy_tasks_started_total',
        'owner="condenser_cache",task="persist"',
      ),
    ).toBe(1);
  });

  it('coalesces writes of a key while its persist is pending, writing the newest value', async () => {
    const { cache, registry } = await replica();
    cache.set('k', 'v1');
    cache.set('k', 'v2');
    cache.set('k', 'v3');
    await cache.flush();
    expect(await admin.get(key('k'))).toBe('v3');
    expect(
      await seriesValue(
        registry,
        'llm_proxy_tasks_started_total',
        'owner="condenser_cache",task="persist"',
      ),
    ).toBe(1);
  });

  it('serves a summary written by another replica, from Redis and then from memory', async () => {
    const a = await replica();
    const b = await replica();
    a.cache.set('shared', 'from a');
    await a.cache.flush();
    expect(await b.cache.get('shared')).toBe('from a');
    expect(b.cache.size).toBe(1);
    await server.kill();
    expect(await b.cache.get('shared')).toBe('from a');
    await server.restart();
    expect(
      await seriesValue(
        b.registry,
        'llm_proxy_cache_requests_total',
        'cache="condenser",result="hit"',
      ),
    ).toBe(2);
  });

  it('propagates delete() to Redis through an evict task', async () => {
    const a = await replica();
    a.cache.set('gone', 'stale summary');
    await a.cache.flush();
    a.cache.delete('gone');
    await a.cache.flush();
    expect(await admin.exists(key('gone'))).toBe(0);
    const b = await replica();
    expect(await b.cache.get('gone')).toBeUndefined();
    expect(
      await seriesValue(
        a.registry,
        'llm_proxy_tasks_started_total',
        'owner="condenser_cache",task="evict"',
      ),
    ).toBe(1);
  });

  it('evicts the Redis copy of an entry that expired in memory', async () => {
    const { cache } = await replica({ ttlSeconds: 1 });
    cache.set('old', 'summary');
    await cache.flush();
    // Another replica refreshed the shared copy meanwhile; this one's copy has still expired.
    await admin.expire(key('old'), 60);
    await new Promise((r) => setTimeout(r, 1_100));
    // Finding it expired evicts the shared copy (DEL goes out before the lookup's GET).
    expect(await cache.get('old')).toBeUndefined();
    expect(await cache.flush()).toBe(true);
    expect(await admin.exists(key('old'))).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('keeps the Redis copy of an entry pushed out of memory for room', async () => {
    const { cache, registry } = await replica({ maxEntries: 1 });
    cache.set('first', 'one');
    cache.set('second', 'two');
    await cache.flush();
    expect(cache.size).toBe(1);
    expect(await admin.exists(key('first'), key('second'))).toBe(2);
    expect(await cache.get('first')).toBe('one');
    expect(
      await seriesValue(
        registry,
        'llm_proxy_tasks_started_total',
        'owner="condenser_cache",task="evict"',
      ),
    ).toBe(0);
  });

  it('keeps working from memory while Redis is down, counting the errors', async () => {
    const { cache, metrics, supervisor } = await replica();
    cache.set('before', 'kept');
    await cache.flush();
    await server.kill();
    try {
      expect(await cache.get('before')).toBe('kept');
      expect(await cache.get('unknown')).toBeUndefined();
      expect(metrics.redisErrors.get.value).toBe(1);
      cache.set('during', 'also kept');
      expect(await cache.flush(2_000)).toBe(true);
      expect(await cache.get('during')).toBe('also kept');
      expect(metrics.redisErrors.set.value).toBe(1);
      expect(metrics.misses.condenser.value).toBe(1);
      await cache.stop(2_000);
      expect(supervisor.liveCount()).toBe(0);
    } finally {
      await server.restart();
    }
  });

  it('stops with no live and no leaked tasks, and drops (counts) writes after stop', async () => {
    const { cache, metrics, registry, supervisor } = await replica();
    for (let i = 0; i < 20; i++) cache.set(`k${i}`, `summary ${i}`);
    cache.delete('k0');
    await cache.stop(2_000);
    expect(supervisor.liveCount()).toBe(0);
    expect(await admin.exists(key('k19'))).toBe(1);
    expect(await admin.exists(key('k0'))).toBe(0);

    cache.set('late', 'memory only');
    expect(await cache.get('late')).toBe('memory only');
    expect(metrics.writesDropped.value).toBe(1);
    expect(
      await seriesValue(
        registry,
        'llm_proxy_tasks_rejected_total',
        'owner="condenser_cache",task="persist",reason="closed"',
      ),
    ).toBe(1);
    const leaked = await leakedTotals(registry);
    expect(leaked.length).toBeGreaterThan(0);
    expect(leaked.every((v) => v === 0)).toBe(true);
  });

  it('works memory-only without a Redis client, spawning no tasks', async () => {
    const { cache, registry } = await replica({ redis: undefined });
    cache.set('m', 'memory');
    expect(await cache.get('m')).toBe('memory');
    cache.delete('m');
    expect(await cache.get('m')).toBeUndefined();
    expect(
      await seriesValue(
        registry,
        'llm_proxy_tasks_started_total',
        'owner="condenser_cache",task="persist"',
      ),
    ).toBe(0);
    expect(
      await seriesValue(
        registry,
        'llm_proxy_cache_requests_total',
        'cache="condenser",result="miss"',
      ),
    ).toBe(1);
  });
});
