/**
 * Builds a UnifiedCache the way the app does (own registry, supervisor, metrics and Redis
 * client), and tears it down checking what the contract promises: no live and no leaked tasks.
 */
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { expect, vi } from 'vitest';
import { CacheMetrics } from '../../src/cache/metrics.js';
import { closeRedis, createRedisClient } from '../../src/cache/redis.js';
import { UnifiedCache, type UnifiedCacheOptions } from '../../src/cache/unified-cache.js';
import type { CachedAnswer } from '../../src/cache/entry.js';
import { CONTRACT_TASKS, Supervisor } from '../../src/tasks/index.js';
import { silentLogger, type Logger } from '../../src/telemetry/logger.js';

export const COMMAND_TIMEOUT_MS = 300;

export interface Built {
  cache: UnifiedCache;
  metrics: CacheMetrics;
  registry: Registry;
  supervisor: Supervisor;
  redis: Redis | undefined;
  /** Stops the cache, closes its Redis client, and asserts nothing is left running or leaked. */
  close(): Promise<void>;
}

export interface BuildOptions extends Partial<
  Omit<UnifiedCacheOptions, 'scope' | 'metrics' | 'redis'>
> {
  redisUrl?: string;
  /** Wait for the client to be ready before returning (default true). */
  awaitReady?: boolean;
  /** The Redis client's commandTimeout (default COMMAND_TIMEOUT_MS). */
  commandTimeoutMs?: number;
  logger?: Logger;
}

let prefixes = 0;
/** A key prefix no other test in this process uses, so tests sharing a server don't meet. */
export function uniquePrefix(): string {
  prefixes++;
  return `test${process.pid}-${prefixes}`;
}

/** Sum of a counter family in the registry's text exposition. */
export async function metricSum(registry: Registry, name: string): Promise<number> {
  const text = await registry.metrics();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

export async function buildCache(options: BuildOptions = {}): Promise<Built> {
  const {
    redisUrl,
    awaitReady = true,
    logger = silentLogger(),
    commandTimeoutMs = COMMAND_TIMEOUT_MS,
    ...overrides
  } = options;
  const registry = new Registry();
  const supervisor = new Supervisor({ registry, logger, tasks: CONTRACT_TASKS });
  const metrics = new CacheMetrics(registry);
  const redis =
    redisUrl === undefined
      ? undefined
      : createRedisClient(
          { url: redisUrl, commandTimeoutMs, connectTimeoutMs: 1_000 },
          metrics,
          logger,
        );
  if (redis !== undefined && awaitReady) await vi.waitFor(() => expect(redis.status).toBe('ready'));
  const cache = new UnifiedCache({
    scope: supervisor.scope('unified_cache'),
    metrics,
    logger,
    ...(redis === undefined ? {} : { redis }),
    keyPrefix: uniquePrefix(),
    ttlSeconds: 60,
    maxEntries: 1_000,
    maxBytes: 1 << 20,
    maxEntryBytes: 1 << 18,
    redisMaxEntryBytes: 1 << 16,
    cleanupIntervalMs: 1_000,
    monitorIntervalMs: 1_000,
    warm: { enabled: false, maxKeys: 100, timeoutMs: 2_000 },
    writeQueueMax: 1_000,
    writeQueueMaxBytes: 1 << 20,
    ...overrides,
  });
  return {
    cache,
    metrics,
    registry,
    supervisor,
    redis,
    close: async () => {
      await cache.stop(2_000);
      if (redis !== undefined && awaitReady) await closeRedis(redis, 1_000);
      expect(supervisor.liveCount()).toBe(0);
      expect(await metricSum(registry, 'llm_proxy_tasks_leaked_total')).toBe(0);
    },
  };
}

/** A plain client to inspect what the cache wrote, as another replica or an operator would. */
export function inspector(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

export function answer(n: number, extra = ''): CachedAnswer {
  return {
    provider: 'primary',
    body: JSON.stringify({ id: `chatcmpl-${n}`, extra }),
    storedAt: Date.now(),
  };
}
