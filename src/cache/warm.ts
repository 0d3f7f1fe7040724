/**
 * Warm-up: reads the most recently used answers from Redis so a fresh replica starts with a
 * useful memory tier. Bounded in count (the hot set's top N) and, by its task's deadline,
 * in time; it reads nothing but the hot set and the keys it names (no KEYS, no SCAN).
 * Cancelling it (stop(), shutdown) ends it at once, even with a command still waiting on a
 * stalled Redis: the reply, if any, is ignored.
 */
import type { Redis } from 'ioredis';
import { parseAnswer, type CachedAnswer } from './entry.js';
import type { CacheMetrics } from './metrics.js';
import type { ResponseKeys } from './redis-layout.js';
import { untilAborted } from './until-aborted.js';

export interface WarmEntry {
  key: string;
  answer: CachedAnswer;
  /** Serialised length in bytes (the memory tier's size of the entry). */
  size: number;
}

export interface ReadHotOptions {
  redis: Redis;
  keys: ResponseKeys;
  maxKeys: number;
  metrics: CacheMetrics;
  signal: AbortSignal;
  /** Keys per MGET. */
  batchSize?: number;
}

/** Resolves true once `redis` is ready, false if it has ended or `signal` aborts first. */
export function waitUntilReady(redis: Redis, signal: AbortSignal): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  if (redis.status === 'end' || signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const done = (ready: boolean) => (): void => {
      redis.off('ready', onReady);
      redis.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
      resolve(ready);
    };
    const onReady = done(true);
    const onEnd = done(false);
    const onAbort = done(false);
    redis.once('ready', onReady);
    redis.once('end', onEnd);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The hottest entries, hottest first: ZREVRANGE of the hot set, then MGET in batches.
 * Stops early (returning what it has) on abort or on a Redis error, which is counted as
 * op "warm" (an abort is not); malformed values are skipped and counted the same way.
 */
export async function readHotEntries(o: ReadHotOptions): Promise<WarmEntry[]> {
  const { redis, keys, metrics, signal } = o;
  const batchSize = o.batchSize ?? 100;
  if (o.maxKeys <= 0 || !(await waitUntilReady(redis, signal))) return [];
  const out: WarmEntry[] = [];
  try {
    const members = await untilAborted(redis.zrevrange(keys.hot, 0, o.maxKeys - 1), signal);
    for (let i = 0; i < members.length && !signal.aborted; i += batchSize) {
      const batch = members.slice(i, i + batchSize);
      const values = await untilAborted(redis.mget(batch.map((key) => keys.entry(key))), signal);
      for (const [j, text] of values.entries()) {
        const key = batch[j];
        if (text === null || key === undefined) continue; // expired since it was last used
        const answer = parseAnswer(text);
        if (answer === undefined) {
          metrics.redisErrors.warm.inc();
          continue;
        }
        out.push({ key, answer, size: Buffer.byteLength(text) });
      }
    }
  } catch {
    if (!signal.aborted) metrics.redisErrors.warm.inc();
  }
  return out;
}
