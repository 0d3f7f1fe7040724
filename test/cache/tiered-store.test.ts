/**
 * The tiered store on its own, against a real redis-server: both write strategies, a codec
 * of its own (so nothing here depends on what the response or summary caches store), and
 * the promises the façades rely on: promotion keeps the TTL Redis has left, every key is
 * schema-versioned and expires, an outage degrades to memory and Redis is used again once
 * it is back, flush() writes what is pending.
 */
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheMetrics } from '../../src/cache/metrics.js';
import { createRedisClient, closeRedis } from '../../src/cache/redis.js';
import {
  responseKeys,
  summaryKeys,
  type ResponseKeys,
  type StoreKeys,
} from '../../src/cache/redis-layout.js';
import {
  TieredStore,
  type CacheTier,
  type LookupOutcome,
  type StoreCodec,
  type WriteStrategy,
} from '../../src/cache/tiered-store.js';
import {
  CACHE_REDIS_WRITE,
  CONDENSER_EVICT,
  CONDENSER_PERSIST,
  CONTRACT_TASKS,
  Supervisor,
} from '../../src/tasks/index.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { metricSum, uniquePrefix } from './harness.js';

/** A value that is not a string, so the codec is visibly what crosses each tier. */
interface Point {
  x: number;
  y: number;
}

/** Encodes a point as "x,y" and counts its calls; decodes only that form. */
function pointCodec(): StoreCodec<Point> & { encoded: number; decoded: number } {
  const codec = {
    encoded: 0,
    decoded: 0,
    encode(p: Point): string {
      codec.encoded++;
      return `${p.x},${p.y}`;
    },
    decode(text: string): Point | undefined {
      codec.decoded++;
      const m = /^(-?\d+),(-?\d+)$/.exec(text);
      return m === null ? undefined : { x: Number(m[1]), y: Number(m[2]) };
    },
  };
  return codec;
}

const STRATEGIES: Record<'write_behind' | 'per_key', (keys: StoreKeys) => WriteStrategy> = {
  write_behind: (keys) => ({
    kind: 'write_behind',
    task: CACHE_REDIS_WRITE,
    hot: (keys as ResponseKeys).hot,
    max: 1_000,
    maxBytes: 1 << 20,
  }),
  per_key: () => ({ kind: 'per_key', persist: CONDENSER_PERSIST, evict: CONDENSER_EVICT }),
};

interface Made {
  store: TieredStore<Point, { value: Point; tier: CacheTier }>;
  codec: ReturnType<typeof pointCodec>;
  outcomes: LookupOutcome[];
  keys: StoreKeys;
  prefix: string;
  supervisor: Supervisor;
  registry: Registry;
  metrics: CacheMetrics;
}

let server: RedisServer;
let admin: Redis;
const opened: { made: Made; redis: Redis | undefined }[] = [];

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  admin.on('error', () => undefined); // expected while the server is killed
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});
afterEach(async () => {
  for (const { made, redis } of opened.splice(0)) {
    await made.store.stop(2_000);
    if (redis !== undefined) await closeRedis(redis, 1_000);
    expect(made.supervisor.liveCount()).toBe(0);
    expect(await metricSum(made.registry, 'llm_proxy_tasks_leaked_total')).toBe(0);
  }
});

async function make(
  strategy: 'write_behind' | 'per_key',
  over: { ttlSeconds?: number; redis?: boolean; prefix?: string } = {},
): Promise<Made> {
  const registry = new Registry();
  const logger = silentLogger();
  const supervisor = new Supervisor({ registry, logger, tasks: CONTRACT_TASKS });
  const metrics = new CacheMetrics(registry);
  const redis =
    over.redis === false
      ? undefined
      : createRedisClient(
          { url: server.url, commandTimeoutMs: 300, connectTimeoutMs: 1_000 },
          metrics,
          logger,
        );
  if (redis !== undefined) await vi.waitFor(() => expect(redis.status).toBe('ready'));
  const prefix = over.prefix ?? uniquePrefix();
  const keys = strategy === 'per_key' ? summaryKeys(prefix) : responseKeys(prefix);
  const codec = pointCodec();
  const outcomes: LookupOutcome[] = [];
  const store = new TieredStore<Point, { value: Point; tier: CacheTier }>({
    scope: supervisor.scope(strategy === 'per_key' ? 'condenser_cache' : 'unified_cache'),
    metrics,
    logger,
    label: 'test store',
    kind: strategy === 'per_key' ? 'condenser' : 'response',
    redis,
    keys,
    codec,
    ttlSeconds: over.ttlSeconds ?? 60,
    maxEntries: 100,
    writes: STRATEGIES[strategy](keys),
    hit: (value, tier) => ({ value, tier }),
    onLookup: (outcome) => outcomes.push(outcome),
  });
  store.start();
  const made = { store, codec, outcomes, keys, prefix, supervisor, registry, metrics };
  opened.push({ made, redis });
  return made;
}

describe.each(['write_behind', 'per_key'] as const)('TieredStore (%s writes)', (strategy) => {
  it('promotes a Redis hit to memory for the TTL Redis has left, not a full TTL', async () => {
    const { store, keys, outcomes } = await make(strategy, { ttlSeconds: 60 });
    await admin.set(keys.entry('p'), '3,4', 'PX', 700);
    expect(await store.get('p')).toEqual({ value: { x: 3, y: 4 }, tier: 'redis' });
    expect(await store.get('p')).toEqual({ value: { x: 3, y: 4 }, tier: 'memory' });
    await new Promise((r) => setTimeout(r, 800));
    // Expired in both tiers: the memory copy did not outlive the shared one.
    expect(await store.get('p')).toBeUndefined();
    expect(outcomes).toEqual(['redis', 'memory', 'absent']);
  });

  it('writes schema-versioned keys, each with an expiry, through the codec', async () => {
    const { store, prefix, codec } = await make(strategy, { ttlSeconds: 30 });
    for (let i = 0; i < 3; i++) store.set(`k${i}`, { x: i, y: -i });
    expect(await store.flush(2_000)).toEqual({ written: 3, pending: 0 });
    expect(codec.encoded).toBe(3);
    const written = await admin.keys(`${prefix}:*`);
    const kind = strategy === 'per_key' ? 'sum' : 'resp';
    const entries = [0, 1, 2].map((i) => `${prefix}:v1:${kind}:k${i}`);
    // The write-behind strategy also keeps its hot set (for warm-up) under the same schema.
    const expected = strategy === 'per_key' ? entries : [...entries, `${prefix}:v1:hot`];
    expect(written.sort()).toEqual(expected.sort());
    for (const key of written) {
      const ttl = await admin.ttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(30);
    }
    expect(await admin.get(`${prefix}:v1:${kind}:k2`)).toBe('2,-2');
  });

  it('uses the codec for both tiers: sizes in memory, values and misses from Redis', async () => {
    const writer = await make(strategy);
    const reader = await make(strategy, { prefix: writer.prefix });
    writer.store.set('a', { x: 10, y: 200 });
    expect(writer.store.bytes).toBe('10,200'.length);
    await writer.store.flush(2_000);
    expect(await reader.store.get('a')).toEqual({ value: { x: 10, y: 200 }, tier: 'redis' });
    expect(reader.codec.decoded).toBe(1);
    expect(reader.store.bytes).toBe('10,200'.length);
    // What the codec rejects is a miss, reported as malformed, and not kept.
    await admin.set(reader.keys.entry('bad'), 'not a point', 'EX', 60);
    expect(await reader.store.get('bad')).toBeUndefined();
    expect(reader.outcomes).toEqual(['redis', 'malformed']);
    expect(reader.store.size).toBe(1);
  });

  it('flush() writes every pending value, and reports none left', async () => {
    const { store, keys } = await make(strategy);
    const n = 150;
    for (let i = 0; i < n; i++) store.set(`k${i}`, { x: i, y: i });
    expect(store.pendingWrites).toBeGreaterThan(0);
    expect(await store.flush(5_000)).toEqual({ written: n, pending: 0 });
    expect(store.pendingWrites).toBe(0);
    const values = await admin.mget(Array.from({ length: n }, (_, i) => keys.entry(`k${i}`)));
    values.forEach((text, i) => expect(text).toBe(`${i},${i}`));
  });

  it('degrades to memory while Redis is down, and uses Redis again once it is back', async () => {
    const { store, keys, outcomes, metrics } = await make(strategy);
    store.set('before', { x: 1, y: 1 });
    await store.flush(2_000);
    await server.kill();
    try {
      await vi.waitFor(() => expect(metrics.redisUp.value).toBe(0));
      // Memory answers; a lookup memory cannot answer is a miss, never a throw or a wait.
      expect((await store.get('before'))?.tier).toBe('memory');
      const t0 = performance.now();
      expect(await store.get('elsewhere')).toBeUndefined();
      expect(performance.now() - t0).toBeLessThan(100);
      store.set('during', { x: 2, y: 2 });
      expect((await store.get('during'))?.tier).toBe('memory');
      await store.flush(2_000);
      expect(metrics.redisErrors.set.value).toBeGreaterThanOrEqual(1);
    } finally {
      await server.restart();
    }
    await vi.waitFor(() => expect(metrics.redisUp.value).toBe(1), { timeout: 5_000 });
    store.set('after', { x: 3, y: 3 });
    expect(await store.flush(2_000)).toEqual({ written: 1, pending: 0 });
    expect(await admin.get(keys.entry('after'))).toBe('3,3');
    await admin.set(keys.entry('shared'), '4,4', 'EX', 60);
    expect((await store.get('shared'))?.tier).toBe('redis');
    expect(outcomes).toEqual(['memory', 'unready', 'memory', 'redis']);
  });

  it('works memory-only without a Redis client', async () => {
    const { store, outcomes, supervisor } = await make(strategy, { redis: false });
    expect(store.set('m', { x: 5, y: 6 })).toBe('memory_only');
    expect(await store.get('m')).toEqual({ value: { x: 5, y: 6 }, tier: 'memory' });
    expect(await store.get('none')).toBeUndefined();
    expect(await store.flush(1_000)).toEqual({ written: 0, pending: 0 });
    expect(outcomes).toEqual(['memory', 'no_redis']);
    expect(supervisor.liveCount()).toBe(0);
  });
});

describe('TieredStore stop', () => {
  it('refuses Redis writes after stop with the write-behind strategy, keeping memory', async () => {
    const { store } = await make('write_behind');
    await store.stop(1_000);
    expect(store.set('late', { x: 1, y: 2 })).toBe('memory_only');
    expect((await store.get('late'))?.tier).toBe('memory');
  });

  it('counts a per-key write the closed scope refused as dropped', async () => {
    const { store, metrics } = await make('per_key');
    await store.stop(1_000);
    expect(store.set('late', { x: 1, y: 2 })).toBe('dropped');
    expect(metrics.writesDropped.value).toBe(1);
    expect((await store.get('late'))?.tier).toBe('memory');
  });
});
