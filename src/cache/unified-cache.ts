/**
 * The response cache: tier 1 in memory (LRU, bounded by entries and bytes), tier 2 in Redis
 * (shared by replicas, optional). Reads try memory, then Redis; writes go to memory at once
 * and to Redis through a bounded write-behind queue, so Redis never delays an answer and a
 * Redis outage degrades the cache to memory-only instead of failing requests.
 *
 * Entries are bounded by bytes (their serialised size): over `maxEntryBytes` an answer is
 * not cached; over the smaller `redisMaxEntryBytes` it is kept in this replica's memory only.
 * NOTE: memory only rather than not at all: such an entry costs this replica some memory and
 * nobody else anything, and still saves its repeats an upstream call. In Redis it cost every
 * user: a 100 MB value made each other replica's GET time out (250 ms), refetch upstream and
 * SET it again, while PING rose to 410-451 ms for all (issue 14, defect 4).
 *
 * Background work runs as named tasks of the component's scope: cleanup and monitor loops,
 * a one-shot warm-up and the Redis writer daemon. stop() flushes before it cancels them.
 *
 * The tiers themselves are a TieredStore (tiered-store.ts) with the answer codec and the
 * write-behind strategy; this façade adds what only responses have: the hot set and its
 * warm-up, the entry-size skip metrics, and the per-tier hit counts.
 */
import type { Redis } from 'ioredis';
import {
  CACHE_CLEANUP,
  CACHE_MONITOR,
  CACHE_REDIS_WRITE,
  CACHE_WARM,
  TaskRejectedError,
  type Scope,
} from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';
import { parseAnswer, serializeAnswer, type CachedAnswer } from './entry.js';
import type { CacheMetrics, SkipReason } from './metrics.js';
import { responseKeys, type ResponseKeys } from './redis-layout.js';
import {
  TieredStore,
  type CacheTier,
  type LookupOutcome,
  type StoreCodec,
} from './tiered-store.js';
import { untilAborted } from './until-aborted.js';
import { readHotEntries } from './warm.js';
import type { FlushResult } from './redis-writer.js';

export type { CacheTier } from './tiered-store.js';

export interface WarmOptions {
  enabled: boolean;
  /** Hottest keys loaded at most. */
  maxKeys: number;
  /** Deadline of the warm-up task (it ends timed_out, keeping what it loaded). */
  timeoutMs: number;
}

export interface UnifiedCacheOptions {
  scope: Scope;
  metrics: CacheMetrics;
  logger: Logger;
  /** The Redis tier; memory only when absent. Its owner closes it (after stop()). */
  redis?: Redis;
  keyPrefix: string;
  ttlSeconds: number;
  maxEntries: number;
  maxBytes: number;
  /** Serialised bytes of one entry at most; larger answers are not cached. */
  maxEntryBytes: number;
  /** Serialised bytes of one entry written to Redis at most; larger ones stay in memory. */
  redisMaxEntryBytes: number;
  cleanupIntervalMs: number;
  monitorIntervalMs: number;
  warm: WarmOptions;
  writeQueueMax: number;
  /** Bytes of pending Redis writes at most. */
  writeQueueMaxBytes: number;
  /** Members kept in the Redis hot set; defaults to maxEntries (memory holds no more). */
  hotKeysMax?: number;
}

export interface CacheHit {
  answer: CachedAnswer;
  tier: CacheTier;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  /** Lookups answered, by any tier. */
  hits: number;
  hitsByTier: Record<CacheTier, number>;
  /** Lookups answered by no tier. */
  misses: number;
  /** Redis writes accepted and not yet written. */
  pendingWrites: number;
}

export interface StopSummary extends FlushResult {
  /** Cache tasks still running when the deadline passed. */
  unsettled: number;
}

/** A copy never outlives the original's storedAt + ttl, whatever Redis says. */
function answerTtlLeft(answer: CachedAnswer, ttlMs: number): number {
  return Math.min(ttlMs, ttlMs - (Date.now() - answer.storedAt));
}

/**
 * The answer codec: JSON text, validated on the way back. Its size bound is the answer's
 * characters, known without serialising (which throws RangeError past V8's string limit: a
 * 1 GB stream did); such an answer is not encodable, so not cached.
 */
const ANSWER_CODEC: StoreCodec<CachedAnswer> = {
  encode(answer) {
    try {
      return serializeAnswer(answer);
    } catch (err) {
      if (err instanceof RangeError) return undefined;
      throw err;
    }
  },
  decode: parseAnswer,
  minBytes(answer) {
    let n = answer.body?.length ?? 0;
    for (const chunk of answer.chunks ?? []) n += chunk.length;
    return n;
  },
  remainingMs: answerTtlLeft,
};

function cacheHit(answer: CachedAnswer, tier: CacheTier): CacheHit {
  return { answer, tier };
}

export class UnifiedCache {
  private readonly store: TieredStore<CachedAnswer, CacheHit>;
  private readonly keys: ResponseKeys;
  private readonly ttlMs: number;
  private readonly counts = { memory: 0, redis: 0, misses: 0 };
  private started = false;
  private stopping: Promise<StopSummary> | undefined;

  constructor(private readonly o: UnifiedCacheOptions) {
    this.ttlMs = o.ttlSeconds * 1000;
    this.keys = responseKeys(o.keyPrefix);
    this.store = new TieredStore({
      scope: o.scope,
      metrics: o.metrics,
      logger: o.logger,
      label: 'response cache',
      kind: 'response',
      redis: o.redis,
      keys: this.keys,
      codec: ANSWER_CODEC,
      ttlSeconds: o.ttlSeconds,
      maxEntries: o.maxEntries,
      maxBytes: o.maxBytes,
      maxEntryBytes: o.maxEntryBytes,
      redisMaxEntryBytes: o.redisMaxEntryBytes,
      writes: {
        kind: 'write_behind',
        task: CACHE_REDIS_WRITE,
        hot: this.keys.hot,
        max: o.writeQueueMax,
        maxBytes: o.writeQueueMaxBytes,
      },
      hit: cacheHit,
      onLookup: (outcome) => this.count(outcome),
    });
  }

  /**
   * Starts the cache's background tasks. Idempotent; a no-op once stop() was called or when
   * the scope is already closing (a shutdown that raced with start-up).
   */
  start(): void {
    if (this.started || this.stopping !== undefined) return;
    this.started = true;
    try {
      this.spawnTasks();
    } catch (err) {
      if (!(err instanceof TaskRejectedError)) throw err;
      this.o.logger.warn({ reason: err.reason }, 'cache tasks not started: scope closing');
    }
  }

  private spawnTasks(): void {
    const { scope, redis, warm } = this.o;
    scope.every(CACHE_CLEANUP, { intervalMs: this.o.cleanupIntervalMs, immediate: false }, (ctx) =>
      this.cleanup(ctx.signal),
    );
    scope.every(CACHE_MONITOR, { intervalMs: this.o.monitorIntervalMs }, () => {
      this.store.publish();
      return Promise.resolve();
    });
    if (redis === undefined) return;
    this.store.start();
    if (warm.enabled) {
      scope.spawn(CACHE_WARM, (ctx) => this.warmUp(redis, ctx.signal), {
        deadlineMs: warm.timeoutMs,
      });
    }
  }

  /** The cached answer for `key`, or undefined. Never throws; Redis trouble is a miss. */
  async get(key: string): Promise<CacheHit | undefined> {
    return this.store.get(key);
  }

  /** Counts one lookup: per tier in the metrics, and in stats(). */
  private count(outcome: LookupOutcome): void {
    const { metrics } = this.o;
    if (outcome === 'memory') {
      metrics.hits.memory.inc();
      this.counts.memory++;
      return;
    }
    metrics.misses.memory.inc();
    if (outcome === 'redis') {
      metrics.hits.redis.inc();
      this.counts.redis++;
      return;
    }
    if (outcome === 'failed' || outcome === 'malformed') metrics.redisErrors.get.inc();
    if (outcome !== 'no_redis') metrics.misses.redis.inc();
    this.counts.misses++;
  }

  /** Serialised bytes of one entry at most: the bound a stream's capture is held to. */
  get maxEntryBytes(): number {
    return this.store.maxEntryBytes;
  }

  /**
   * Stores an answer: in memory now, in Redis later (write-behind, never awaited here).
   * An answer over maxEntryBytes is not stored (and counted); `admit`, when given, decides
   * last, so a costly check never runs on an answer too large to store.
   * NOTE: the object is kept as given and shared by later hits; callers must not mutate it.
   */
  set(key: string, answer: CachedAnswer, admit?: (answer: CachedAnswer) => boolean): void {
    const outcome = this.store.set(key, answer, admit);
    if (outcome === 'too_large') this.skip('too_large');
    else if (outcome === 'too_large_for_redis') this.o.metrics.skipped.redis.too_large.inc();
  }

  /** Counts an answer not stored at all, for `reason` (e.g. a stream that outgrew its capture). */
  skip(reason: SkipReason): void {
    this.o.metrics.skipped.memory[reason].inc();
  }

  /**
   * Waits until every Redis write accepted so far is done, or `deadlineMs` passes. Drain and
   * shutdown call it before cancelling the tasks, so nothing accepted is silently lost.
   */
  flush(deadlineMs: number): Promise<FlushResult> {
    return this.store.flush(deadlineMs);
  }

  /** Flushes, then closes the scope (cancelling the loops), within `deadlineMs`. Idempotent. */
  stop(deadlineMs: number): Promise<StopSummary> {
    this.stopping ??= this.doStop(deadlineMs);
    return this.stopping;
  }

  stats(): CacheStats {
    const { memory, redis, misses } = this.counts;
    return {
      entries: this.store.size,
      bytes: this.store.bytes,
      hits: memory + redis,
      hitsByTier: { memory, redis },
      misses,
      pendingWrites: this.store.pendingWrites,
    };
  }

  private async doStop(deadlineMs: number): Promise<StopSummary> {
    const summary = await this.store.stop(deadlineMs);
    if (summary.pending > 0) {
      this.o.logger.warn({ pending: summary.pending }, 'cache stopped with Redis writes unwritten');
    }
    return summary;
  }

  /** Drops expired entries and trims the Redis hot set (the memory byte bound is kept by
   *  the LRU itself on every set). */
  private async cleanup(signal: AbortSignal): Promise<void> {
    this.store.purgeStale();
    const { redis, metrics } = this.o;
    if (redis === undefined || redis.status !== 'ready') return;
    const keep = this.o.hotKeysMax ?? this.o.maxEntries;
    try {
      const results = await untilAborted(
        redis
          .pipeline()
          .zremrangebyscore(this.keys.hot, '-inf', Date.now() - this.ttlMs)
          .zremrangebyrank(this.keys.hot, 0, -(keep + 1))
          .exec(),
        signal,
      );
      if (results === null || results.some(([err]) => err !== null)) metrics.redisErrors.del.inc();
    } catch {
      // Cancelled (stop, shutdown) while Redis had not answered: not a Redis error.
      if (!signal.aborted) metrics.redisErrors.del.inc();
    }
  }

  private async warmUp(redis: Redis, signal: AbortSignal): Promise<number> {
    const { metrics, warm } = this.o;
    const entries = await readHotEntries({
      redis,
      keys: this.keys,
      maxKeys: warm.maxKeys,
      metrics,
      signal,
    });
    let loaded = 0;
    // Coldest first, so the hottest end up most recently used in the LRU.
    for (const { key, answer, size } of entries.reverse()) {
      if (this.store.load(key, answer, size, answerTtlLeft(answer, this.ttlMs))) loaded++;
    }
    return loaded;
  }
}
