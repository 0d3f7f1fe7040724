export { UnifiedCache } from './unified-cache.js';
export type {
  UnifiedCacheOptions,
  WarmOptions,
  CacheHit,
  CacheTier,
  CacheStats,
  StopSummary,
} from './unified-cache.js';
export type { FlushResult } from './redis-writer.js';
export { TieredStore } from './tiered-store.js';
export type {
  TieredStoreOptions,
  StoreCodec,
  LookupOutcome,
  SetOutcome,
  WriteStrategy,
} from './tiered-store.js';
export { RedisWriteFailed } from './per-key-writes.js';
export { parseAnswer, serializeAnswer } from './entry.js';
export type { CachedAnswer } from './entry.js';
export {
  responseCacheKey,
  cacheDecision,
  canonicalJson,
  forbidsCache,
  CACHE_OPT_IN,
} from './key.js';
export type { CacheableKind, CacheDecision, CacheDecisionInput } from './key.js';
export {
  createRedisClient,
  closeRedis,
  redactRedisUrl,
  reconnectDelay,
  MAX_RECONNECT_DELAY_MS,
} from './redis.js';
export type { RedisClientOptions } from './redis.js';
export { responseKeys, summaryKeys, RESPONSE_SCHEMA } from './redis-layout.js';
export { waitUntilReady } from './warm.js';
export type { ResponseKeys, StoreKeys, SummaryKeys } from './redis-layout.js';
export { CacheMetrics, CACHE_LOOKUPS, CACHE_KINDS, REDIS_OPS } from './metrics.js';
export type { CacheLookup, CacheKind, RedisOp } from './metrics.js';
