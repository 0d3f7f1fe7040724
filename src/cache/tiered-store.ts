/**
 * One memory-plus-Redis store, for any value a codec can turn into a string: the response
 * cache (unified-cache.ts) and the condenser's summaries (condense/condenser-cache.ts) are
 * thin façades over it.
 *
 * - Memory: an LRU bounded by entries and bytes (the encoded size of each value), with a TTL.
 *   NOTE: no ttlAutopurge: it arms a timer per entry outside the spawner. Expired entries are
 *   dropped when next looked up, or by purgeStale() (the owner's cleanup loop).
 * - Redis (optional, shared by replicas): every key comes from redis-layout.ts (schema-
 *   versioned) and every write carries EX ttl. get() tries memory, then one pipeline of GET
 *   and PTTL; a Redis hit is promoted to memory with the TTL Redis has left, so the memory
 *   copy never outlives the shared one. A codec that knows a value's remaining life (written
 *   to Redis after it was stored, so no later than Redis's expiry) is asked instead of PTTL.
 *   Redis errors, Redis not being ready and undecodable values are misses reported through
 *   onLookup, never thrown: the request goes on without the cache (degrade), and the next
 *   lookup after the client reconnects uses Redis again (recover).
 * - Writes reach memory at once and Redis through a writer (redis-writer.ts), never awaited
 *   by the caller. flush(deadline) waits for what was accepted; stop() flushes, then closes
 *   the scope.
 *
 * NOTE: two write strategies, chosen by a parameter, rather than one. The response cache
 * writes through one `unified_cache/redis_write` daemon with a bounded queue and pipelined
 * batches (thousands of answers a second, a hot set for warm-up); the condenser writes a few
 * summaries, each in its own `condenser_cache/persist` task (coalescing rewrites of a key)
 * whose end releases the replica's claim on making it, and DELs invalidated summaries in
 * `condenser_cache/evict` tasks. Those task names are a contract (tasks/catalog.ts: metric
 * labels, and tests counting persist/evict tasks), and the claim hand-over needs a task per
 * key, so folding both into one daemon would change behaviour. The store still owns the
 * writer, its queue and its flush; the façades only pick one.
 */
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Scope, TaskDefinition } from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';
import type { CacheKind, CacheMetrics } from './metrics.js';
import { PerKeyWrites } from './per-key-writes.js';
import type { StoreKeys } from './redis-layout.js';
import type { FlushResult, RedisWriter } from './redis-writer.js';
import { WriteBehind } from './write-behind.js';

/** How values are stored: the same string in both tiers (its UTF-8 length is their size). */
export interface StoreCodec<V> {
  /** The wire form; undefined when the value cannot be encoded (e.g. past V8's string limit). */
  encode(value: V): string | undefined;
  /** The value in `text`, or undefined when it is malformed (a counted miss). */
  decode(text: string): V | undefined;
  /** A lower bound of the encoded bytes, known without encoding: over the entry bound, the
   *  value is refused before encode() is asked (which may be costly or throw). */
  minBytes?(value: V): number;
  /** The lifetime a value read back has left by its own account (e.g. a stored-at time). */
  remainingMs?(value: V, ttlMs: number): number;
}

export type CacheTier = 'memory' | 'redis';

/**
 * How one get() ended: a hit in `memory` or `redis`, or a miss with no Redis tier
 * (`no_redis`), Redis not connected (`unready`), no such key (`absent`), the command failed
 * or timed out (`failed`), or a value the codec rejected (`malformed`).
 */
export type LookupOutcome =
  'memory' | 'redis' | 'no_redis' | 'unready' | 'absent' | 'failed' | 'malformed';

/**
 * How one set() ended: `refused` by the caller's admit check; `too_large` for memory (not
 * stored); stored in memory and then `queued` for Redis, `too_large_for_redis` (memory only),
 * `memory_only` (no Redis tier, or stopping), or `dropped` (the writer refused it).
 */
export type SetOutcome =
  'refused' | 'too_large' | 'queued' | 'too_large_for_redis' | 'memory_only' | 'dropped';

/** The write strategy (see the NOTE above). */
export type WriteStrategy =
  | {
      kind: 'write_behind';
      task: TaskDefinition;
      /** The hot set's key (recently used keys, for warm-up). */
      hot: string;
      /** Pending writes (and pending hot-set touches) at most. */
      max: number;
      /** Bytes of pending writes at most. */
      maxBytes: number;
    }
  | {
      kind: 'per_key';
      persist: TaskDefinition;
      evict: TaskDefinition;
      /** Runs at the end of a key's write task (written, failed, or cancelled). */
      settled?: (key: string, aborted: boolean) => Promise<void>;
    };

export interface TieredStoreOptions<V, H> {
  /** Where the writer's tasks run; stop() closes it. */
  scope: Scope;
  metrics: CacheMetrics;
  logger: Logger;
  /** Names the owner in log lines and errors, e.g. "condenser cache". */
  label: string;
  /** The entries/bytes gauges this store publishes. */
  kind: CacheKind;
  /** Shared tier; memory only when absent. Create it with `commandTimeout` set. */
  redis?: Redis | undefined;
  keys: StoreKeys;
  codec: StoreCodec<V>;
  ttlSeconds: number;
  maxEntries: number;
  /** Bytes held in memory at most (unbounded when absent). */
  maxBytes?: number;
  /** Encoded bytes of one entry at most (unbounded when absent). */
  maxEntryBytes?: number;
  /** Encoded bytes of one entry written to Redis at most; larger ones stay in memory. */
  redisMaxEntryBytes?: number;
  writes: WriteStrategy;
  /** What get() answers for a value found in `tier` (built once per hit, by the owner). */
  hit: (value: V, tier: CacheTier) => H;
  /** Told how every get() ended, for the owner's metrics. */
  onLookup: (outcome: LookupOutcome) => void;
}

interface MemoryEntry<V> {
  value: V;
  size: number;
}

type Reply = [Error | null, unknown] | undefined;

export class TieredStore<V, H> {
  private readonly memory: LRUCache<string, MemoryEntry<V>>;
  private readonly writer: RedisWriter | undefined;
  private readonly ttlMs: number;
  private readonly entryMax: number;
  private readonly redisEntryMax: number;
  private stopping: Promise<FlushResult & { unsettled: number }> | undefined;

  constructor(private readonly o: TieredStoreOptions<V, H>) {
    this.ttlMs = o.ttlSeconds * 1000;
    const maxBytes = o.maxBytes ?? Number.MAX_SAFE_INTEGER;
    // No entry may fill more than the whole tier.
    this.entryMax = Math.min(o.maxEntryBytes ?? Infinity, maxBytes);
    this.redisEntryMax = o.redisMaxEntryBytes ?? Infinity;
    this.writer = o.redis === undefined ? undefined : this.createWriter(o.redis);
    const expired = this.writer?.expired?.bind(this.writer);
    this.memory = new LRUCache<string, MemoryEntry<V>>({
      max: o.maxEntries,
      maxSize: maxBytes,
      maxEntrySize: this.entryMax,
      sizeCalculation: (entry) => entry.size,
      ttl: this.ttlMs,
      // Only an expiry reaches Redis: an entry pushed out of memory for room is still a
      // good entry in the larger shared tier.
      ...(expired === undefined
        ? {}
        : {
            dispose: (_: MemoryEntry<V>, key: string, reason: string) => {
              if (reason === 'expire') expired(key);
            },
          }),
    });
    if (o.redis !== undefined && typeof o.redis.options.commandTimeout !== 'number') {
      o.logger.warn(
        `${o.label}: the Redis client has no commandTimeout; a hung Redis would stall lookups`,
      );
    }
  }

  private createWriter(redis: Redis): RedisWriter {
    const { writes, keys, ttlSeconds, metrics } = this.o;
    if (writes.kind === 'write_behind') {
      const { task, hot, max, maxBytes } = writes;
      return new WriteBehind({
        redis,
        keys: { hot, entry: (key) => keys.entry(key) },
        ttlSeconds,
        max,
        maxBytes,
        metrics,
        task,
      });
    }
    const { scope, logger, label } = this.o;
    return new PerKeyWrites({ scope, redis, keys, ttlSeconds, metrics, logger, label, ...writes });
  }

  /** Entries held in memory. */
  get size(): number {
    return this.memory.size;
  }

  /** Bytes held in memory (encoded sizes). */
  get bytes(): number {
    return this.memory.calculatedSize;
  }

  /** Redis writes accepted and not yet written. */
  get pendingWrites(): number {
    return this.writer?.depth ?? 0;
  }

  /** Encoded bytes of one entry at most. */
  get maxEntryBytes(): number {
    return this.entryMax;
  }

  /** The Redis key of `key`. */
  redisKey(key: string): string {
    return this.o.keys.entry(key);
  }

  /** Starts the writer's background task, if its strategy has one. */
  start(): void {
    this.writer?.start(this.o.scope);
  }

  /** The hit for `key` (memory, then Redis), or undefined. Never throws. */
  get(key: string): Promise<H | undefined> | H | undefined {
    const held = this.memory.get(key);
    if (held !== undefined) {
      this.o.onLookup('memory');
      if (held.size <= this.redisEntryMax) this.writer?.touch(key);
      return this.o.hit(held.value, 'memory');
    }
    this.publish(); // the lookup may have dropped an expired entry
    const redis = this.o.redis;
    if (redis === undefined) return this.miss('no_redis');
    if (redis.status !== 'ready') return this.miss('unready');
    return this.getRemote(redis, key);
  }

  private miss(outcome: LookupOutcome): undefined {
    this.o.onLookup(outcome);
    return undefined;
  }

  private async getRemote(redis: Redis, key: string): Promise<H | undefined> {
    const [outcome, value] = await this.readRemote(redis, key);
    this.o.onLookup(outcome);
    if (value === undefined) return undefined;
    this.writer?.touch(key);
    return this.o.hit(value, 'redis');
  }

  /**
   * Like get(), but Redis decides whenever it can answer: for values whose deletion must
   * reach every replica (a deleted response). A key absent from Redis, and not being written
   * by this replica, was deleted (or expired) everywhere, so a memory copy of it is dropped.
   * When Redis cannot answer (none, not ready, failed), memory does, as in get().
   */
  async getShared(key: string): Promise<H | undefined> {
    const redis = this.o.redis;
    if (redis === undefined || redis.status !== 'ready' || this.writer?.writing?.(key) === true)
      return this.get(key);
    const [outcome, value] = await this.readRemote(redis, key);
    if (value !== undefined) {
      this.o.onLookup(outcome);
      return this.o.hit(value, 'redis');
    }
    if (outcome === 'absent') {
      this.memory.delete(key); // a deletion, not an expiry: no DEL of what is not there
      return this.miss(outcome);
    }
    const held = this.memory.get(key);
    if (held === undefined) return this.miss(outcome);
    this.o.onLookup('memory');
    return this.o.hit(held.value, 'memory');
  }

  /** One pipeline of GET (and PTTL) of `key`: how it ended, and the value adopted. */
  private async readRemote(redis: Redis, key: string): Promise<[LookupOutcome, V | undefined]> {
    let outcome: LookupOutcome;
    let value: V | undefined;
    try {
      const entry = this.o.keys.entry(key);
      const pipe = redis.pipeline().get(entry);
      // NOTE: a codec that knows what is left of a value's life (an answer's storedAt) needs
      // no PTTL: the command would only be sent, run and read to be outweighed by it.
      if (this.o.codec.remainingMs === undefined) pipe.pttl(entry);
      const [got, ttl] = (await pipe.exec()) ?? [];
      value = this.adopt(key, got, ttl);
      outcome =
        value !== undefined ? 'redis' : typeof got?.[1] === 'string' ? 'malformed' : 'absent';
    } catch (err) {
      outcome = 'failed';
      this.o.logger.debug({ err }, `${this.o.label}: redis get failed, treated as a miss`);
    }
    return [outcome, value];
  }

  /**
   * The value in the replies of a pipeline's GET and PTTL of `key`, now also in memory for
   * the lifetime Redis has left; undefined when there is none or it is malformed. Throws the
   * error of a failed reply. For owners that read an entry in a pipeline of their own.
   */
  adopt(key: string, got: Reply, ttl: Reply): V | undefined {
    const failed = got?.[0] ?? ttl?.[0];
    if (failed) throw failed;
    const text = got?.[1];
    if (typeof text !== 'string') return undefined;
    const value = this.o.codec.decode(text);
    if (value === undefined) return undefined;
    const left = ttl?.[1];
    let ttlMs = typeof left === 'number' && left > 0 ? left : this.ttlMs;
    const own = this.o.codec.remainingMs?.(value, this.ttlMs);
    if (own !== undefined) ttlMs = Math.min(ttlMs, own);
    this.remember(key, value, Buffer.byteLength(text), ttlMs);
    return value;
  }

  /**
   * Stores a value: in memory now, in Redis by the writer (never awaited here). `admit`,
   * when given, decides after the cheap size check and before encoding.
   * NOTE: the value is kept as given and shared by later hits; callers must not mutate it.
   */
  set(key: string, value: V, admit?: (value: V) => boolean): SetOutcome {
    const fits = (this.o.codec.minBytes?.(value) ?? 0) <= this.entryMax;
    if (fits && admit !== undefined && !admit(value)) return 'refused';
    const text = fits ? this.o.codec.encode(value) : undefined;
    const size = text === undefined ? Infinity : Buffer.byteLength(text);
    if (text === undefined || size > this.entryMax) return 'too_large';
    this.remember(key, value, size, this.ttlMs);
    const writer = this.writer;
    if (writer === undefined || !writer.accepting) return 'memory_only';
    if (size > this.redisEntryMax) return 'too_large_for_redis';
    return writer.write(key, text, size) ? 'queued' : 'dropped';
  }

  /**
   * Puts a value read elsewhere (warm-up) in memory for `ttlMs`, unless memory holds `key`
   * already. True when memory holds it afterwards.
   */
  load(key: string, value: V, size: number, ttlMs: number): boolean {
    if (this.memory.has(key)) return false;
    this.remember(key, value, size, ttlMs);
    return this.memory.has(key);
  }

  /** Invalidates `key` in memory and, where the write strategy does, in Redis. */
  delete(key: string): void {
    this.memory.delete(key);
    this.publish();
    this.writer?.delete(key);
  }

  /**
   * Empties memory and forgets the Redis writes not yet sent (where the write strategy keeps
   * them per key). Returns how many entries memory held. Redis itself is the owner's to clear.
   */
  clearMemory(): number {
    const dropped = this.memory.size;
    // NOTE: clear() disposes every entry with reason 'delete', so no evict task is spawned.
    this.memory.clear();
    this.writer?.discardPending?.();
    this.publish();
    return dropped;
  }

  /** Drops expired entries from memory. */
  purgeStale(): void {
    this.memory.purgeStale();
    this.publish();
  }

  /** Waits until every Redis write accepted so far is done, or `deadlineMs` passes. */
  flush(deadlineMs: number): Promise<FlushResult> {
    if (this.writer === undefined) return Promise.resolve({ written: 0, pending: 0 });
    return this.writer.flush(deadlineMs);
  }

  /** Refuses further Redis writes (where the strategy does), flushes, closes the scope. */
  stop(deadlineMs: number): Promise<FlushResult & { unsettled: number }> {
    this.writer?.close();
    this.stopping ??= this.doStop(deadlineMs);
    return this.stopping;
  }

  private async doStop(deadlineMs: number): Promise<FlushResult & { unsettled: number }> {
    const started = performance.now();
    const flushed = await this.flush(deadlineMs);
    // Cancelled loops settle within microtasks; a short floor lets them even when the flush
    // used up the whole deadline, so stop() rarely returns with tasks still running.
    const left = Math.max(50, deadlineMs - (performance.now() - started));
    const { unsettled } = await this.o.scope.close('scope_closed', left);
    return { ...flushed, unsettled };
  }

  /** Publishes the memory tier's gauges (and the writer's own, if any). */
  publish(): void {
    const { metrics, kind } = this.o;
    metrics.entries[kind].set(this.memory.size);
    metrics.bytes[kind].set(this.memory.calculatedSize);
    this.writer?.publish();
  }

  /** Puts an entry in memory for `ttlMs` (skipped when already expired). */
  private remember(key: string, value: V, size: number, ttlMs: number): void {
    if (ttlMs < 1) return;
    this.memory.set(key, { value, size }, { ttl: Math.floor(ttlMs) });
    this.publish();
  }
}
