/**
 * The write-behind queue against a real redis-server, which CLIENT PAUSE WRITE can stall
 * to hold a pipeline in flight.
 */
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../test/support/redis-server.js';
import { silentLogger } from '../telemetry/logger.js';
import { CacheMetrics } from './metrics.js';
import { closeRedis, createRedisClient } from './redis.js';
import { responseKeys } from './redis-layout.js';
import { WriteBehind } from './write-behind.js';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = createRedisClient(
    { url: server.url, commandTimeoutMs: 2_000, connectTimeoutMs: 1_000 },
    new CacheMetrics(new Registry()),
    silentLogger(),
  );
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
});
afterAll(async () => {
  await closeRedis(redis, 1_000);
  await server.stop();
});

describe('WriteBehind', () => {
  it('bounds pending writes, the batch in flight included, while Redis is stalled', async () => {
    const metrics = new CacheMetrics(new Registry());
    const keys = responseKeys('wb-stall');
    const writer = new WriteBehind({
      redis,
      keys,
      ttlSeconds: 60,
      max: 5,
      maxBytes: 1 << 20,
      metrics,
    });
    const stop = new AbortController();
    const running = writer.run(stop.signal);
    try {
      await redis.call('CLIENT', 'PAUSE', '300', 'WRITE');
      writer.enqueue('first', 'x');
      // Let the daemon take it: a pipeline now waits on the paused server.
      await new Promise((r) => setTimeout(r, 20));
      for (let i = 0; i < 10; i++) writer.enqueue(`k${i}`, 'x');
      expect(writer.depth).toBe(5);
      expect(metrics.writeQueueDepth.value).toBe(5);
      expect(metrics.writesDropped.value).toBe(6);
      expect(await writer.flush(2_000)).toEqual({ written: 5, pending: 0 });
      const stored = await redis.mget(['first', 'k6', 'k7', 'k8', 'k9'].map((k) => keys.entry(k)));
      expect(stored).toEqual(['x', 'x', 'x', 'x', 'x']);
      // The oldest queued writes were the ones dropped.
      expect(await redis.exists(keys.entry('k0'), keys.entry('k5'))).toBe(0);
    } finally {
      stop.abort();
      await running;
    }
  });

  it('bounds pending writes by bytes too, dropping the oldest, while Redis is stalled', async () => {
    const metrics = new CacheMetrics(new Registry());
    const keys = responseKeys('wb-bytes');
    const writer = new WriteBehind({
      redis,
      keys,
      ttlSeconds: 60,
      max: 1_000,
      maxBytes: 100,
      metrics,
    });
    const stop = new AbortController();
    const running = writer.run(stop.signal);
    try {
      await redis.call('CLIENT', 'PAUSE', '300', 'WRITE');
      writer.enqueue('first', 'f'.repeat(30));
      await new Promise((r) => setTimeout(r, 20));
      // 30 bytes in flight: two more of 30 fit, and each later one pushes out the oldest.
      for (let i = 0; i < 5; i++) writer.enqueue(`k${i}`, String(i).repeat(30));
      expect(writer.bytes).toBe(90);
      expect(metrics.writeQueueBytes.value).toBe(90);
      expect(metrics.writesDropped.value).toBe(3);
      // Larger than the whole bound: dropped on its own, evicting nothing.
      writer.enqueue('huge', 'h'.repeat(101));
      expect(writer.bytes).toBe(90);
      expect(metrics.writesDropped.value).toBe(4);
      expect(await writer.flush(2_000)).toEqual({ written: 3, pending: 0 });
      expect(writer.bytes).toBe(0);
      const stored = await redis.mget(['first', 'k3', 'k4'].map((k) => keys.entry(k)));
      expect(stored).toEqual(['f'.repeat(30), '3'.repeat(30), '4'.repeat(30)]);
      const gone = ['k0', 'k1', 'k2', 'huge'].map((k) => keys.entry(k));
      expect(await redis.exists(...gone)).toBe(0);
    } finally {
      stop.abort();
      await running;
    }
  });

  it('counts bytes in UTF-8, as Redis stores them', () => {
    const metrics = new CacheMetrics(new Registry());
    const writer = new WriteBehind({
      redis,
      keys: responseKeys('wb-utf8'),
      ttlSeconds: 60,
      max: 10,
      maxBytes: 10,
      metrics,
    });
    writer.enqueue('a', 'é'.repeat(5)); // 10 bytes in UTF-8, 5 UTF-16 units
    writer.enqueue('b', 'x');
    expect(writer.bytes).toBe(1);
    expect(metrics.writesDropped.value).toBe(1);
  });
});
