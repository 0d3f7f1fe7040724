import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAnswer } from '../../src/cache/entry.js';
import { responseKeys } from '../../src/cache/redis-layout.js';
import { freePort } from '../support/ports.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import {
  answer,
  buildCache,
  COMMAND_TIMEOUT_MS,
  inspector,
  metricSum,
  type Built,
  type BuildOptions,
} from './harness.js';

let server: RedisServer;
let direct: Redis;
const built: Built[] = [];

async function make(options: BuildOptions = {}): Promise<Built> {
  const b = await buildCache(options);
  built.push(b);
  return b;
}

/** Keys the cache of `prefix` holds in Redis (KEYS is fine in a test, never in the cache). */
async function keysOf(prefix: string): Promise<string[]> {
  return direct.keys(`${prefix}:*`);
}

beforeAll(async () => {
  server = await startRedis();
  direct = inspector(server.url);
});

afterEach(async () => {
  for (const b of built.splice(0)) await b.close();
});

afterAll(async () => {
  await direct.quit();
  await server.stop();
});

describe('UnifiedCache memory tier', () => {
  it('misses, then hits from memory once an answer is set', async () => {
    const { cache, metrics } = await make();
    expect(await cache.get('k1')).toBeUndefined();
    const a = answer(1);
    cache.set('k1', a);
    expect(await cache.get('k1')).toEqual({ answer: a, tier: 'memory' });
    expect(metrics.misses.memory.value).toBe(1);
    expect(metrics.hits.memory.value).toBe(1);
    expect(cache.stats()).toMatchObject({ entries: 1, hits: 1, misses: 1 });
    expect(metrics.entries.response.value).toBe(1);
    expect(metrics.bytes.response.value).toBeGreaterThan(0);
  });

  it('evicts least recently used entries to stay within maxBytes', async () => {
    const { cache } = await make({ maxBytes: 1_000 });
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, answer(i, 'x'.repeat(200)));
    const { bytes, entries } = cache.stats();
    expect(bytes).toBeLessThanOrEqual(1_000);
    expect(entries).toBeLessThan(10);
    expect(await cache.get('k0')).toBeUndefined();
    expect((await cache.get('k9'))?.tier).toBe('memory');
  });

  it('keeps an entry larger than maxBytes out of memory instead of emptying it', async () => {
    const { cache } = await make({ maxBytes: 1_000 });
    cache.set('small', answer(1));
    cache.set('huge', answer(2, 'x'.repeat(2_000)));
    expect(await cache.get('huge')).toBeUndefined();
    expect((await cache.get('small'))?.tier).toBe('memory');
  });
});

describe('UnifiedCache Redis tier', () => {
  it('serves an answer written by one replica to another, then from its own memory', async () => {
    const prefix = `shared-${Date.now()}`;
    const writer = await make({ redisUrl: server.url, keyPrefix: prefix });
    const reader = await make({ redisUrl: server.url, keyPrefix: prefix });
    writer.cache.start();
    reader.cache.start();
    const a = answer(1);
    writer.cache.set('k1', a);
    expect(await writer.cache.flush(2_000)).toEqual({ written: 1, pending: 0 });

    expect(await reader.cache.get('k1')).toEqual({ answer: a, tier: 'redis' });
    expect(await reader.cache.get('k1')).toEqual({ answer: a, tier: 'memory' });
    expect(reader.metrics.hits.redis.value).toBe(1);
    expect(reader.metrics.hits.memory.value).toBe(1);
    expect(reader.metrics.misses.memory.value).toBe(1);
  });

  it('counts a Redis miss when neither tier has the answer', async () => {
    const { cache, metrics } = await make({ redisUrl: server.url });
    expect(await cache.get('absent')).toBeUndefined();
    expect(metrics.misses.memory.value).toBe(1);
    expect(metrics.misses.redis.value).toBe(1);
    expect(metrics.redisErrors.get.value).toBe(0);
  });

  it('treats a malformed Redis value as a miss, counted as a get error', async () => {
    const prefix = `corrupt-${Date.now()}`;
    const { cache, metrics } = await make({ redisUrl: server.url, keyPrefix: prefix });
    await direct.set(responseKeys(prefix).entry('bad'), '{"not":"an answer"}', 'EX', 60);
    expect(await cache.get('bad')).toBeUndefined();
    expect(metrics.redisErrors.get.value).toBe(1);
    expect(metrics.misses.redis.value).toBe(1);
  });

  it('turns a Redis command timeout into a miss, counted as a get error, never a throw', async () => {
    const { cache, metrics } = await make({ redisUrl: server.url });
    await direct.client('PAUSE', 800, 'ALL');
    const t0 = performance.now();
    expect(await cache.get('slow')).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(COMMAND_TIMEOUT_MS + 200);
    expect(metrics.redisErrors.get.value).toBe(1);
    expect(metrics.misses.redis.value).toBe(1);
    await direct.client('UNPAUSE');
  });

  it('writes every key with an expiry, under a schema-versioned prefix', async () => {
    const prefix = `ttl-${Date.now()}`;
    const { cache } = await make({ redisUrl: server.url, keyPrefix: prefix, ttlSeconds: 30 });
    cache.start();
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, answer(i));
    await cache.get('k0');
    await cache.flush(2_000);
    const keys = await keysOf(prefix);
    expect(keys).toContain(`${prefix}:v1:hot`);
    expect(keys).toContain(`${prefix}:v1:resp:k0`);
    expect(keys).toHaveLength(6);
    for (const key of keys) {
      const ttl = await direct.ttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(30);
    }
  });

  it('expires answers from both tiers after ttlSeconds', async () => {
    const prefix = `expiry-${Date.now()}`;
    const { cache } = await make({ redisUrl: server.url, keyPrefix: prefix, ttlSeconds: 1 });
    cache.start();
    cache.set('k1', answer(1));
    await cache.flush(2_000);
    expect(await direct.ttl(`${prefix}:v1:resp:k1`)).toBe(1);
    expect((await cache.get('k1'))?.tier).toBe('memory');
    await new Promise((r) => setTimeout(r, 1_150));
    expect(await cache.get('k1')).toBeUndefined();
    expect(await direct.exists(`${prefix}:v1:resp:k1`)).toBe(0);
  });

  it('flush() waits until every accepted write is in Redis, across several pipelines', async () => {
    const prefix = `flush-${Date.now()}`;
    const { cache, metrics } = await make({ redisUrl: server.url, keyPrefix: prefix });
    cache.start();
    const n = 250;
    for (let i = 0; i < n; i++) cache.set(`k${i}`, answer(i));
    expect(cache.stats().pendingWrites).toBe(n);
    expect(await cache.flush(5_000)).toEqual({ written: n, pending: 0 });
    expect(metrics.writeQueueDepth.value).toBe(0);
    const keys = responseKeys(prefix);
    const values = await direct.mget(Array.from({ length: n }, (_, i) => keys.entry(`k${i}`)));
    values.forEach((text, i) => expect(parseAnswer(text ?? '')?.body).toBe(answer(i).body));
  });

  it('drops the oldest pending write when the write-behind queue is full, and counts it', async () => {
    const prefix = `full-${Date.now()}`;
    const { cache, metrics } = await make({
      redisUrl: server.url,
      keyPrefix: prefix,
      writeQueueMax: 5,
    });
    cache.start();
    for (let i = 0; i < 8; i++) cache.set(`k${i}`, answer(i));
    expect(metrics.writesDropped.value).toBe(3);
    expect(metrics.writeQueueDepth.value).toBe(5);
    expect(await cache.flush(2_000)).toEqual({ written: 5, pending: 0 });
    const keys = responseKeys(prefix);
    const present = await direct.mget(Array.from({ length: 8 }, (_, i) => keys.entry(`k${i}`)));
    expect(present.map((v) => v !== null)).toEqual([
      false,
      false,
      false,
      true,
      true,
      true,
      true,
      true,
    ]);
    // Every answer is still served from memory: only the copy to Redis was dropped.
    expect((await cache.get('k0'))?.tier).toBe('memory');
  });

  it('trims the hot-key set to its bound in the cleanup loop', async () => {
    const prefix = `hot-${Date.now()}`;
    const { cache } = await make({
      redisUrl: server.url,
      keyPrefix: prefix,
      hotKeysMax: 3,
      cleanupIntervalMs: 30,
    });
    cache.start();
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, answer(i));
    await cache.flush(2_000);
    await vi.waitFor(async () => expect(await direct.zcard(`${prefix}:v1:hot`)).toBe(3));
  });
});

describe('UnifiedCache warm-up', () => {
  it('loads the most recently used answers from Redis on start, at most warm.maxKeys', async () => {
    const prefix = `warm-${Date.now()}`;
    const first = await make({ redisUrl: server.url, keyPrefix: prefix });
    first.cache.start();
    for (let i = 0; i < 12; i++) {
      first.cache.set(`k${i}`, answer(i));
      await first.cache.flush(2_000);
      await new Promise((r) => setTimeout(r, 3)); // distinct hot-set scores
    }
    const fresh = await make({
      redisUrl: server.url,
      keyPrefix: prefix,
      warm: { enabled: true, maxKeys: 4, timeoutMs: 2_000 },
    });
    fresh.cache.start();
    await vi.waitFor(() => expect(fresh.cache.stats().entries).toBe(4));
    for (const i of [8, 9, 10, 11]) expect((await fresh.cache.get(`k${i}`))?.tier).toBe('memory');
    expect((await fresh.cache.get('k7'))?.tier).toBe('redis');
    expect(fresh.metrics.redisErrors.warm.value).toBe(0);
    expect(fresh.metrics.hits.memory.value).toBe(4);
  });

  it('ends the warm-up at its deadline when Redis never becomes ready', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    const { cache, registry } = await make({
      redisUrl: nowhere,
      awaitReady: false,
      warm: { enabled: true, maxKeys: 10, timeoutMs: 100 },
    });
    cache.start();
    const timedOut =
      /llm_proxy_tasks_finished_total\{owner="unified_cache",task="warm",outcome="timed_out"\} 1/;
    await vi.waitFor(async () => expect(await registry.metrics()).toMatch(timedOut), {
      timeout: 1_000,
    });
    expect(cache.stats().entries).toBe(0);
  });
});

describe('UnifiedCache lifecycle', () => {
  it('stops its loops promptly: flush, then every task settled, none leaked', async () => {
    const { cache, supervisor, registry } = await make({
      redisUrl: server.url,
      cleanupIntervalMs: 10_000,
      monitorIntervalMs: 10_000,
      warm: { enabled: true, maxKeys: 10, timeoutMs: 2_000 },
    });
    cache.start();
    cache.set('k1', answer(1));
    expect(supervisor.liveCount()).toBeGreaterThanOrEqual(3);
    const t0 = performance.now();
    const summary = await cache.stop(2_000);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(summary).toEqual({ written: 1, pending: 0, unsettled: 0 });
    expect(supervisor.liveCount()).toBe(0);
    expect(await metricSum(registry, 'llm_proxy_tasks_leaked_total')).toBe(0);
    expect(await metricSum(registry, 'llm_proxy_tasks_active')).toBe(0);
    expect(await cache.stop(2_000)).toBe(summary);
  });

  it('still answers from memory after stop, without queueing Redis writes', async () => {
    const { cache } = await make({ redisUrl: server.url });
    cache.start();
    await cache.stop(1_000);
    cache.set('late', answer(1));
    expect((await cache.get('late'))?.tier).toBe('memory');
    expect(cache.stats().pendingWrites).toBe(0);
  });
});
