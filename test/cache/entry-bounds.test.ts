/**
 * UnifiedCache's byte bounds on one entry: over maxEntryBytes (or the whole memory tier) an
 * answer is not stored anywhere; over the Redis bound it is kept in memory only. Each skip
 * is counted once, at the first tier that refused it.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { responseKeys } from '../../src/cache/redis-layout.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { answer, buildCache, inspector, type Built, type BuildOptions } from './harness.js';

let server: RedisServer;
let direct: Redis;
const built: Built[] = [];

async function make(options: BuildOptions = {}): Promise<Built> {
  const b = await buildCache(options);
  built.push(b);
  return b;
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

const chunked = (n: number, size: number) => ({
  provider: 'primary',
  chunks: Array.from({ length: n }, () => 'c'.repeat(size)),
  storedAt: Date.now(),
});

describe('UnifiedCache entry bounds', () => {
  it('does not store an answer over maxEntryBytes, counts it, and never asks admit', async () => {
    const { cache, metrics } = await make({ maxEntryBytes: 1_000 });
    let asked = 0;
    const admit = (): boolean => ++asked > 0;
    cache.set('json', answer(1, 'x'.repeat(1_000)), admit);
    cache.set('stream', chunked(10, 101), admit);
    expect(asked).toBe(0);
    expect(await cache.get('json')).toBeUndefined();
    expect(await cache.get('stream')).toBeUndefined();
    expect(metrics.skipped.memory.too_large.value).toBe(2);
    cache.set('fits', answer(2, 'x'.repeat(500)), admit);
    expect(asked).toBe(1);
    expect((await cache.get('fits'))?.tier).toBe('memory');
  });

  it('measures the serialised entry: escapes and UTF-8 count', async () => {
    const { cache, metrics } = await make({ maxEntryBytes: 1_000 });
    // 400 characters, but 800 bytes in UTF-8 and more with the quotes escaped in the entry.
    cache.set('escaped', answer(1, '"é'.repeat(200)));
    expect(await cache.get('escaped')).toBeUndefined();
    expect(metrics.skipped.memory.too_large.value).toBe(1);
  });

  it('holds an entry to maxBytes when that is smaller, and counts the skip', async () => {
    const { cache, metrics } = await make({ maxBytes: 1_000, maxEntryBytes: 1 << 20 });
    cache.set('huge', answer(1, 'x'.repeat(2_000)));
    expect(await cache.get('huge')).toBeUndefined();
    expect(metrics.skipped.memory.too_large.value).toBe(1);
  });

  it('keeps an entry over the Redis bound in memory only, counted as a Redis skip', async () => {
    const prefix = `bounds-${Date.now()}`;
    const { cache, metrics } = await make({
      redisUrl: server.url,
      keyPrefix: prefix,
      maxEntryBytes: 10_000,
      redisMaxEntryBytes: 1_000,
    });
    cache.start();
    cache.set('big', answer(1, 'x'.repeat(5_000)));
    cache.set('small', answer(2));
    expect(await cache.flush(2_000)).toEqual({ written: 1, pending: 0 });
    const keys = responseKeys(prefix);
    expect(await direct.exists(keys.entry('big'))).toBe(0);
    expect(await direct.exists(keys.entry('small'))).toBe(1);
    expect((await cache.get('big'))?.tier).toBe('memory');
    expect(metrics.skipped.redis.too_large.value).toBe(1);
    expect(metrics.skipped.memory.too_large.value).toBe(0);
  });

  it('counts no Redis skip when there is no Redis tier', async () => {
    const { cache, metrics } = await make({ maxEntryBytes: 10_000, redisMaxEntryBytes: 1_000 });
    cache.set('big', answer(1, 'x'.repeat(5_000)));
    expect((await cache.get('big'))?.tier).toBe('memory');
    expect(metrics.skipped.redis.too_large.value).toBe(0);
  });
});
