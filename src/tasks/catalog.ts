/**
 * Every task name of the contract, declared once. Metric series for each exist from the
 * first scrape; a component spawning anything else is a programming error.
 */
import { defineTask } from './definition.js';

export const HTTP_REQUEST = defineTask('http', 'request', { graceMs: 5_000 });
export const FALLBACK_ATTEMPT = defineTask('fallback_engine', 'attempt', { graceMs: 2_000 });
/** A hedged race's timer: waits hedgeDelayMs between starts, cancelled once the race is decided. */
export const FALLBACK_HEDGE = defineTask('fallback_engine', 'hedge', { graceMs: 2_000 });
export const HEALTH_LOOP = defineTask('health_checker', 'loop', { graceMs: 2_000 });
export const HEALTH_PROBE = defineTask('health_checker', 'probe', { graceMs: 2_000 });
export const CACHE_CLEANUP = defineTask('unified_cache', 'cleanup', { graceMs: 2_000 });
export const CACHE_WARM = defineTask('unified_cache', 'warm', { graceMs: 2_000 });
export const CACHE_MONITOR = defineTask('unified_cache', 'monitor', { graceMs: 2_000 });
export const CACHE_REDIS_WRITE = defineTask('unified_cache', 'redis_write', { graceMs: 5_000 });
export const CONDENSER_PERSIST = defineTask('condenser_cache', 'persist', { graceMs: 5_000 });
export const CONDENSER_EVICT = defineTask('condenser_cache', 'evict', { graceMs: 5_000 });
export const CONDENSER_CLAIM_RENEW = defineTask('condenser_cache', 'claim_renew');
/** CondenserCache.clear(): deletes every summary key of the prefix in Redis (SCAN + UNLINK). */
export const CONDENSER_CLEAR = defineTask('condenser_cache', 'clear', { graceMs: 5_000 });
/** ResponseStore (Responses API, `store: true`): one stored response written to Redis. */
export const RESPONSE_STORE_PERSIST = defineTask('response_store', 'persist', { graceMs: 5_000 });
/** ResponseStore: a deleted or expired stored response DELeted from Redis. */
export const RESPONSE_STORE_EVICT = defineTask('response_store', 'evict', { graceMs: 5_000 });

export const CONTRACT_TASKS = [
  HTTP_REQUEST,
  FALLBACK_ATTEMPT,
  FALLBACK_HEDGE,
  HEALTH_LOOP,
  HEALTH_PROBE,
  CACHE_CLEANUP,
  CACHE_WARM,
  CACHE_MONITOR,
  CACHE_REDIS_WRITE,
  CONDENSER_PERSIST,
  CONDENSER_EVICT,
  CONDENSER_CLAIM_RENEW,
  CONDENSER_CLEAR,
  RESPONSE_STORE_PERSIST,
  RESPONSE_STORE_EVICT,
] as const;
