import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { answer, buildCache, COMMAND_TIMEOUT_MS, inspector, type Built } from './harness.js';

let server: RedisServer;
let b: Built;

beforeAll(async () => {
  server = await startRedis();
  b = await buildCache({ redisUrl: server.url, keyPrefix: 'outage', writeQueueMax: 50 });
  b.cache.start();
});

afterAll(async () => {
  await b.close();
  await server.stop();
});

/** Runs one request's worth of cache traffic and returns how long it took. */
async function traffic(i: number): Promise<number> {
  const t0 = performance.now();
  await b.cache.get(`k${i}`);
  b.cache.set(`k${i}`, answer(i));
  await b.cache.get(`k${i}`);
  return performance.now() - t0;
}

describe('UnifiedCache when Redis fails and comes back', () => {
  it('keeps answering from memory while Redis is killed mid-traffic, fast and bounded', async () => {
    const { cache, metrics } = b;
    for (let i = 0; i < 100; i++) await traffic(i);
    await cache.flush(2_000);
    expect(metrics.redisUp.value).toBe(1);

    const burst = Array.from({ length: 200 }, (_, i) => traffic(100 + i));
    await server.kill();
    const durations = await Promise.all(burst);
    for (let i = 300; i < 500; i++) durations.push(await traffic(i));

    await vi.waitFor(() => expect(metrics.redisUp.value).toBe(0));
    // Nothing waits for a dead Redis longer than one command timeout.
    expect(Math.max(...durations)).toBeLessThan(COMMAND_TIMEOUT_MS + 200);
    // A write already sent when Redis died fails only at its command timeout; writes made
    // while it is down are dropped and counted at once. Either way they show as errors.
    for (let i = 500; i < 510; i++) await traffic(i);
    await vi.waitFor(() => expect(metrics.redisErrors.set.value).toBeGreaterThan(0), {
      timeout: COMMAND_TIMEOUT_MS * 4 + 1_000,
    });
    // Writes are dropped, not held: the queue does not grow with the outage.
    expect(cache.stats().pendingWrites).toBeLessThanOrEqual(50);
    expect(await cache.flush(2_000)).toMatchObject({ pending: 0 });
    expect(metrics.writeQueueDepth.value).toBe(0);
    // Lookups missing memory are Redis misses counted without sending a command.
    const misses = metrics.misses.redis.value;
    expect(await cache.get('never-set')).toBeUndefined();
    expect(metrics.misses.redis.value).toBe(misses + 1);
    expect((await cache.get('k499'))?.tier).toBe('memory');
  });

  it('recovers when Redis restarts: redisUp returns to 1 and writes land again', async () => {
    const { cache, metrics } = b;
    await server.restart();
    await vi.waitFor(() => expect(metrics.redisUp.value).toBe(1), { timeout: 5_000 });
    cache.set('after', answer(1));
    expect(await cache.flush(2_000)).toEqual({ written: 1, pending: 0 });
    const direct: Redis = inspector(server.url);
    try {
      expect(await direct.exists('outage:v1:resp:after')).toBe(1);
      expect(await direct.ttl('outage:v1:resp:after')).toBeGreaterThan(0);
    } finally {
      await direct.quit();
    }
  });
});
