/**
 * Metrics shared by the response cache and the condenser cache (one set per app registry).
 * Label values are fixed vocabularies: cache tier/kind names and Redis operation names.
 */
import { Registry } from 'prom-client';
import {
  byLabel,
  CounterVec,
  GaugeVec,
  type CounterChild,
  type GaugeChild,
} from '../telemetry/metric-vec.js';

export const CACHE_LOOKUPS = ['memory', 'redis', 'condenser'] as const;
export type CacheLookup = (typeof CACHE_LOOKUPS)[number];
export const CACHE_KINDS = ['response', 'condenser', 'response_store'] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];
export const REDIS_OPS = ['get', 'set', 'del', 'warm', 'publish'] as const;
export type RedisOp = (typeof REDIS_OPS)[number];
/** The response cache's tiers, for answers one of them would not store. */
export const CACHE_TIERS = ['memory', 'redis'] as const;
export type CacheTierName = (typeof CACHE_TIERS)[number];
/** Why an answer was not stored: `too_large`, over the tier's maxEntryBytes. */
export const SKIP_REASONS = ['too_large'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export class CacheMetrics {
  readonly hits: Record<CacheLookup, CounterChild>;
  readonly misses: Record<CacheLookup, CounterChild>;
  readonly entries: Record<CacheKind, GaugeChild>;
  readonly bytes: Record<CacheKind, GaugeChild>;
  /** Registered only when a Redis tier is configured (absent, not 0, for memory-only). */
  readonly redisUp: GaugeChild;
  readonly redisErrors: Record<RedisOp, CounterChild>;
  readonly writeQueueDepth: GaugeChild;
  readonly writeQueueBytes: GaugeChild;
  readonly writesDropped: CounterChild;
  /**
   * Answers a tier did not store, counted once at the first tier that refused: `memory`
   * means not cached at all, `redis` kept in this replica's memory only.
   */
  readonly skipped: Record<CacheTierName, Record<SkipReason, CounterChild>>;

  constructor(registry: Registry, { redis = true }: { redis?: boolean } = {}) {
    const requests = new CounterVec(
      'llm_proxy_cache_requests_total',
      'Cache lookups by cache tier (memory|redis|condenser) and result (hit|miss).',
      ['cache', 'result'],
      registry,
    );
    const entries = new GaugeVec(
      'llm_proxy_cache_entries',
      'Entries held in memory.',
      ['cache'],
      registry,
    );
    const bytes = new GaugeVec(
      'llm_proxy_cache_bytes',
      'Bytes held in memory (approximate).',
      ['cache'],
      registry,
    );
    const up = new GaugeVec(
      'llm_proxy_cache_redis_up',
      '1 while the Redis tier is connected.',
      [],
      // Without Redis the series is absent rather than a 0 that would page someone.
      redis ? registry : new Registry(),
    );
    const errors = new CounterVec(
      'llm_proxy_cache_redis_errors_total',
      'Redis commands that failed or timed out, by operation.',
      ['op'],
      registry,
    );
    const depth = new GaugeVec(
      'llm_proxy_cache_write_queue_depth',
      'Redis writes accepted and not yet written (write-behind queue).',
      [],
      registry,
    );
    const queueBytes = new GaugeVec(
      'llm_proxy_cache_write_queue_bytes',
      'Bytes of the Redis writes accepted and not yet written (write-behind queue).',
      [],
      registry,
    );
    const dropped = new CounterVec(
      'llm_proxy_cache_writes_dropped_total',
      'Redis writes dropped because the write-behind queue was full (by count or bytes).',
      [],
      registry,
    );
    const skipped = new CounterVec(
      'llm_proxy_cache_skipped_total',
      'Answers a cache tier (memory|redis) did not store, by reason (too_large).',
      ['cache', 'reason'],
      registry,
    );
    this.hits = byLabel(CACHE_LOOKUPS, (cache) => requests.labels({ cache, result: 'hit' }));
    this.misses = byLabel(CACHE_LOOKUPS, (cache) => requests.labels({ cache, result: 'miss' }));
    this.entries = byLabel(CACHE_KINDS, (cache) => entries.labels({ cache }));
    this.bytes = byLabel(CACHE_KINDS, (cache) => bytes.labels({ cache }));
    this.redisUp = up.labels({});
    this.redisErrors = byLabel(REDIS_OPS, (op) => errors.labels({ op }));
    this.writeQueueDepth = depth.labels({});
    this.writeQueueBytes = queueBytes.labels({});
    this.writesDropped = dropped.labels({});
    this.skipped = byLabel(CACHE_TIERS, (cache) =>
      byLabel(SKIP_REASONS, (reason) => skipped.labels({ cache, reason })),
    );
  }
}
