/** Heap bytes per entry of the memory tier, measured in-process with a typical answer. */
import { Registry } from 'prom-client';
import { CacheMetrics } from '../cache/metrics.js';
import { UnifiedCache } from '../cache/unified-cache.js';
import { CONTRACT_TASKS } from '../tasks/catalog.js';
import { Supervisor } from '../tasks/supervisor.js';
import { silentLogger } from '../telemetry/logger.js';

/**
 * `exact` is false without --expose-gc: the heap is then read with whatever garbage is around,
 * which made the figure swing between ~250 and ~1,000 bytes from run to run.
 */
export async function cacheEntryBytes(
  n = 20_000,
): Promise<{ perEntry: number; payload: number; exact: boolean }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const registry = new Registry();
  const supervisor = new Supervisor({ registry, logger: silentLogger(), tasks: CONTRACT_TASKS });
  const cache = new UnifiedCache({
    scope: supervisor.scope('unified_cache'),
    metrics: new CacheMetrics(registry, { redis: false }),
    logger: silentLogger(),
    keyPrefix: 'bench',
    ttlSeconds: 3600,
    maxEntries: n * 2,
    maxBytes: 1 << 30,
    maxEntryBytes: 1 << 20,
    redisMaxEntryBytes: 1 << 20,
    cleanupIntervalMs: 600_000,
    monitorIntervalMs: 600_000,
    warm: { enabled: false, maxKeys: 0, timeoutMs: 0 },
    writeQueueMax: 10,
    writeQueueMaxBytes: 1 << 20,
  });
  const body = (i: number): string =>
    JSON.stringify({
      id: `chatcmpl-${i}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: `An answer of typical length for request number ${i}, about a sentence or two long.`,
          },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 },
    });
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) {
    cache.set(`${i}`.padStart(64, '0'), {
      provider: 'upstream',
      body: body(i),
      storedAt: Date.now(),
    });
  }
  gc?.();
  const after = process.memoryUsage().heapUsed;
  await cache.stop(1_000);
  return { perEntry: (after - before) / n, payload: body(0).length, exact: gc !== undefined };
}
