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
 */
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
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
import { readHotEntries } from './warm.js';
import { WriteBehind, type FlushResult } from './write-behind.js';

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

export type CacheTier = 'memory' | 'redis';

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

/**
 * Characters of the answer's text: a lower bound of its serialised bytes, known without
 * serialising (which throws RangeError past V8's string limit: a 1 GB stream did).
 */
function characters(answer: CachedAnswer): number {
  let n = answer.body?.length ?? 0;
  for (const chunk of answer.chunks ?? []) n += chunk.length;
  return n;
}

/** The wire form, or undefined when it would be longer than a string can be. */
function serialized(answer: CachedAnswer): string | undefined {
  try {
    return serializeAnswer(answer);
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

interface MemoryEntry {
  answer: CachedAnswer;
  size: number;
}

export class UnifiedCache {
  private readonly memory: LRUCache<string, MemoryEntry>;
  private readonly keys: ResponseKeys;
  private readonly writer: WriteBehind | undefined;
  private readonly ttlMs: number;
  /** maxEntryBytes, or maxBytes when smaller: no entry may fill more than the whole tier. */
  private readonly entryMax: number;
  private readonly counts = { memory: 0, redis: 0, misses: 0 };
  private started = false;
  private stopping: Promise<StopSummary> | undefined;

  constructor(private readonly o: UnifiedCacheOptions) {
    this.ttlMs = o.ttlSeconds * 1000;
    this.entryMax = Math.min(o.maxEntryBytes, o.maxBytes);
    this.memory = new LRUCache<string, MemoryEntry>({
      max: o.maxEntries,
      maxSize: o.maxBytes,
      maxEntrySize: this.entryMax,
      sizeCalculation: (entry) => entry.size,
      ttl: this.ttlMs,
    });
    this.keys = responseKeys(o.keyPrefix);
    this.writer =
      o.redis === undefined
        ? undefined
        : new WriteBehind({
            redis: o.redis,
            keys: this.keys,
            ttlSeconds: o.ttlSeconds,
            max: o.writeQueueMax,
            maxBytes: o.writeQueueMaxBytes,
            metrics: o.metrics,
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
    scope.every(CACHE_CLEANUP, { intervalMs: this.o.cleanupIntervalMs, immediate: false }, () =>
      this.cleanup(),
    );
    scope.every(CACHE_MONITOR, { intervalMs: this.o.monitorIntervalMs }, () => {
      this.publishSize();
      return Promise.resolve();
    });
    const writer = this.writer;
    if (redis === undefined || writer === undefined) return;
    scope.spawn(CACHE_REDIS_WRITE, (ctx) => writer.run(ctx.signal), { kind: 'daemon' });
    if (warm.enabled) {
      scope.spawn(CACHE_WARM, (ctx) => this.warmUp(redis, ctx.signal), {
        deadlineMs: warm.timeoutMs,
      });
    }
  }

  /** The cached answer for `key`, or undefined. Never throws; Redis trouble is a miss. */
  async get(key: string): Promise<CacheHit | undefined> {
    const { metrics, redis } = this.o;
    const held = this.memory.get(key);
    if (held !== undefined) {
      metrics.hits.memory.inc();
      this.counts.memory++;
      if (this.inRedis(held.size)) this.writer?.touch(key);
      return { answer: held.answer, tier: 'memory' };
    }
    metrics.misses.memory.inc();
    if (redis === undefined) return this.miss();
    if (redis.status !== 'ready') {
      metrics.misses.redis.inc();
      return this.miss();
    }
    let answer: CachedAnswer | undefined;
    let text: string | null = null;
    try {
      text = await redis.get(this.keys.entry(key));
      answer = text === null ? undefined : parseAnswer(text);
      if (text !== null && answer === undefined) metrics.redisErrors.get.inc();
    } catch {
      metrics.redisErrors.get.inc();
    }
    if (answer === undefined || text === null) {
      metrics.misses.redis.inc();
      return this.miss();
    }
    metrics.hits.redis.inc();
    this.counts.redis++;
    this.remember(key, answer, Buffer.byteLength(text), this.remainingTtl(answer));
    this.writer?.touch(key);
    return { answer, tier: 'redis' };
  }

  /** Serialised bytes of one entry at most: the bound a stream's capture is held to. */
  get maxEntryBytes(): number {
    return this.entryMax;
  }

  /**
   * Stores an answer: in memory now, in Redis later (write-behind, never awaited here).
   * An answer over maxEntryBytes is not stored (and counted); `admit`, when given, decides
   * last, so a costly check never runs on an answer too large to store.
   * NOTE: the object is kept as given and shared by later hits; callers must not mutate it.
   */
  set(key: string, answer: CachedAnswer, admit?: (answer: CachedAnswer) => boolean): void {
    const fits = characters(answer) <= this.entryMax;
    if (fits && admit !== undefined && !admit(answer)) return;
    const text = fits ? serialized(answer) : undefined;
    const size = text === undefined ? Infinity : Buffer.byteLength(text);
    if (text === undefined || size > this.entryMax) {
      this.skip('too_large');
      return;
    }
    this.remember(key, answer, size, this.ttlMs);
    if (this.writer === undefined || this.stopping !== undefined) return;
    if (this.inRedis(size)) this.writer.enqueue(key, text, size);
    else this.o.metrics.skipped.redis.too_large.inc();
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
    if (this.writer === undefined) return Promise.resolve({ written: 0, pending: 0 });
    return this.writer.flush(deadlineMs);
  }

  /** Flushes, then closes the scope (cancelling the loops), within `deadlineMs`. Idempotent. */
  stop(deadlineMs: number): Promise<StopSummary> {
    this.stopping ??= this.doStop(deadlineMs);
    return this.stopping;
  }

  stats(): CacheStats {
    const { memory, redis, misses } = this.counts;
    return {
      entries: this.memory.size,
      bytes: this.memory.calculatedSize,
      hits: memory + redis,
      hitsByTier: { memory, redis },
      misses,
      pendingWrites: this.writer?.depth ?? 0,
    };
  }

  private async doStop(deadlineMs: number): Promise<StopSummary> {
    const started = performance.now();
    const flushed = await this.flush(deadlineMs);
    // Cancelled loops settle within microtasks; a short floor lets them even when the flush
    // used up the whole deadline, so stop() rarely returns with tasks still running.
    const left = Math.max(50, deadlineMs - (performance.now() - started));
    const { unsettled } = await this.o.scope.close('scope_closed', left);
    if (flushed.pending > 0) {
      this.o.logger.warn({ pending: flushed.pending }, 'cache stopped with Redis writes unwritten');
    }
    return { ...flushed, unsettled };
  }

  private inRedis(size: number): boolean {
    return size <= this.o.redisMaxEntryBytes;
  }

  private miss(): undefined {
    this.counts.misses++;
    return undefined;
  }

  private remainingTtl(answer: CachedAnswer): number {
    return Math.min(this.ttlMs, this.ttlMs - (Date.now() - answer.storedAt));
  }

  /** Puts an entry in memory for `ttlMs` (skipped when already expired). */
  private remember(key: string, answer: CachedAnswer, size: number, ttlMs: number): void {
    if (ttlMs < 1) return;
    this.memory.set(key, { answer, size }, { ttl: Math.floor(ttlMs) });
    this.publishSize();
  }

  private publishSize(): void {
    const { metrics } = this.o;
    metrics.entries.response.set(this.memory.size);
    metrics.bytes.response.set(this.memory.calculatedSize);
    metrics.writeQueueDepth.set(this.writer?.depth ?? 0);
    metrics.writeQueueBytes.set(this.writer?.bytes ?? 0);
  }

  /** Drops expired entries and trims the Redis hot set (the memory byte bound is kept by
   *  the LRU itself on every set). */
  private async cleanup(): Promise<void> {
    this.memory.purgeStale();
    this.publishSize();
    const { redis, metrics } = this.o;
    if (redis === undefined || redis.status !== 'ready') return;
    const keep = this.o.hotKeysMax ?? this.o.maxEntries;
    try {
      const results = await redis
        .pipeline()
        .zremrangebyscore(this.keys.hot, '-inf', Date.now() - this.ttlMs)
        .zremrangebyrank(this.keys.hot, 0, -(keep + 1))
        .exec();
      if (results === null || results.some(([err]) => err !== null)) metrics.redisErrors.del.inc();
    } catch {
      metrics.redisErrors.del.inc();
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
      if (this.memory.has(key)) continue;
      this.remember(key, answer, size, this.remainingTtl(answer));
      if (this.memory.has(key)) loaded++;
    }
    return loaded;
  }
}
