/**
 * The condenser's summary cache: an in-process LRU in front of Redis, which replicas share,
 * built on the tiered store (cache/tiered-store.ts) with strings as values and the per-key
 * write strategy. This façade adds the summaries' own concerns: claims and their hand-over.
 *
 * - get(): memory, then Redis. A Redis hit is promoted to memory with the TTL Redis has left,
 *   so the memory copy never outlives the shared one. Redis errors (and Redis not being
 *   connected) are misses, counted in redisErrors.get and never thrown: a summary is an
 *   optimisation, the request goes on without it. Waits are bounded by the ioredis client's
 *   `commandTimeout` (set it: without it a hung Redis would stall requests here).
 * - set(): memory at once, then one `condenser_cache/persist` task writing that ONE key
 *   (SET key EX ttl). While a persist of a key is pending, further writes of it reuse that
 *   task, which writes the newest value before it ends.
 * - Memory entries removed because they expired or were invalidated (delete()) spawn a
 *   `condenser_cache/evict` task that DELs the Redis copy, so no replica keeps serving a
 *   summary this one has dropped. Size-based LRU eviction does NOT: memory is the small,
 *   per-process tier and Redis the larger shared one, so an entry pushed out of memory for
 *   room is still a good entry for everyone else (and for this process, via get()).
 * - claim(): replicas agree on who makes a summary that no cache holds yet (summary-claims.ts:
 *   a short lease, renewed by its holder while it makes the summary). The others poll
 *   (pollClaimed) until the summary lands in Redis, or the claim ends without one (its holder
 *   failed and released it, or died and it lapsed) and they claim it in turn. A claimant
 *   that made the summary hands its claim to set(): the persist task releases it once the
 *   write is done, or has failed, so waiters take the summary or take over at once.
 * - Every Redis key is `${keyPrefix}:v1:sum:${hash}` (cache/redis-layout.ts) with an expiry.
 * - clear() empties memory at once (pending writes forgotten) and deletes every summary key
 *   of the prefix in Redis in one `condenser_cache/clear` task: SCAN MATCH + UNLINK in
 *   batches, on the same connection as the writes, so a write sent before clear() began is
 *   deleted too. Claims are left alone: they are other replicas' work in progress.
 * - flush() waits for pending persist/evict tasks (and claim renewals, which end with their
 *   summary's persist); stop() flushes, then closes the scope.
 *   A write racing with shutdown is refused by the spawner (TaskRejectedError): memory is
 *   still updated and the lost Redis write is counted in writesDropped.
 */
import type { Redis } from 'ioredis';
import type { CacheMetrics } from '../cache/metrics.js';
import { RedisWriteFailed } from '../cache/per-key-writes.js';
import { summaryKeys, type SummaryKeys } from '../cache/redis-layout.js';
import { TieredStore, type LookupOutcome, type StoreCodec } from '../cache/tiered-store.js';
import { untilAborted } from '../cache/until-aborted.js';
import {
  CONDENSER_CLEAR,
  CONDENSER_EVICT,
  CONDENSER_PERSIST,
  TaskCancelledError,
  type Scope,
  type TaskResult,
} from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';
import { SummaryClaims, type SummaryClaim } from './summary-claims.js';

export type { SummaryClaim } from './summary-claims.js';
export { RedisWriteFailed } from '../cache/per-key-writes.js';

export interface CondenserCacheOptions {
  scope: Scope;
  metrics: CacheMetrics;
  logger: Logger;
  /** Shared tier; absent means memory only. Create it with `commandTimeout` set. */
  redis?: Redis | undefined;
  keyPrefix: string;
  maxEntries: number;
  ttlSeconds: number;
  /**
   * How long a replica's claim on making a summary lasts unless renewed (its holder renews
   * it every third of that). Default 5 s: how soon a replica that died mid-summary is noticed.
   */
  claimMs?: number;
}

/** What clear() removed: entries held in memory, and summary keys deleted in Redis. */
export interface ClearResult {
  memory: number;
  redis: number;
}

/** Keys asked for per SCAN call (a hint to Redis), and so deleted per UNLINK at most. */
const CLEAR_BATCH = 500;

/** Summaries are stored as they are. */
const TEXT: StoreCodec<string> = { encode: (text) => text, decode: (text) => text };

function summaryOf(value: string): string {
  return value;
}

export class CondenserCache {
  private readonly store: TieredStore<string, string>;
  private readonly keys: SummaryKeys;
  /** Claims handed to set(), per key: its persist task releases them when it ends. */
  private readonly claimsToRelease = new Map<string, string>();
  private readonly metrics: CacheMetrics;
  private readonly logger: Logger;
  private readonly redis: Redis | undefined;
  private readonly claims: SummaryClaims;
  private readonly scope: Scope;

  constructor(o: CondenserCacheOptions) {
    const { scope, metrics, logger, redis, keyPrefix, claimMs } = o;
    this.scope = scope;
    this.metrics = metrics;
    this.logger = logger;
    this.redis = redis;
    this.keys = summaryKeys(keyPrefix);
    this.claims = new SummaryClaims({ scope, metrics, logger, redis, keyPrefix, claimMs });
    this.store = new TieredStore({
      scope,
      metrics,
      logger,
      label: 'condenser cache',
      kind: 'condenser',
      redis,
      keys: this.keys,
      codec: TEXT,
      ttlSeconds: o.ttlSeconds,
      maxEntries: o.maxEntries,
      writes: {
        kind: 'per_key',
        persist: CONDENSER_PERSIST,
        evict: CONDENSER_EVICT,
        settled: (hash, aborted) => this.settleClaim(hash, aborted),
      },
      hit: summaryOf,
      onLookup: (outcome) => this.count(outcome),
    });
  }

  /** The Redis key of a summary hash. */
  redisKey(hash: string): string {
    return this.keys.entry(hash);
  }

  /** The Redis key of the claim on making the summary of a hash. */
  claimKey(hash: string): string {
    return this.keys.claim(hash);
  }

  /** Entries held in memory. */
  get size(): number {
    return this.store.size;
  }

  async get(hash: string): Promise<string | undefined> {
    return this.store.get(hash);
  }

  /** One lookup, hit or miss; Redis trouble (not connected included) is also a get error. */
  private count(outcome: LookupOutcome): void {
    if (outcome === 'memory' || outcome === 'redis') {
      this.metrics.hits.condenser.inc();
      return;
    }
    if (outcome !== 'no_redis' && outcome !== 'absent') this.metrics.redisErrors.get.inc();
    this.metrics.misses.condenser.inc();
  }

  /**
   * Stores a summary: in memory now, in Redis by a persist task. `claim`, the token of this
   * replica's claim on making it, is released by that task once the write is done or failed.
   * Returns false when no persist task took the write (none is needed without Redis, or the
   * spawner refused it): the claim, if any, is then still the caller's to release.
   */
  set(hash: string, summary: string, claim?: string): boolean {
    if (this.store.set(hash, summary) !== 'queued') return false;
    if (claim !== undefined) this.claimsToRelease.set(hash, claim);
    return true;
  }

  /**
   * Claims the making of `hash`'s summary among the replicas sharing Redis (see
   * SummaryClaims.claim): a claim taken is renewed until it is released.
   */
  claim(hash: string, signal: AbortSignal): Promise<SummaryClaim> {
    return this.claims.claim(hash, signal);
  }

  /**
   * Looks once for the summary another replica claimed: the summary once it is in Redis (now
   * in memory too), `waiting` while the claim stands, `gone` when the claim ended without a
   * summary or Redis failed (claim again: that decides who makes it).
   */
  async pollClaimed(
    hash: string,
    signal: AbortSignal,
  ): Promise<{ summary: string } | 'waiting' | 'gone'> {
    const redis = this.redis;
    if (redis === undefined || redis.status !== 'ready') return 'gone';
    try {
      const key = this.keys.entry(hash);
      const replies = await untilAborted(
        redis.pipeline().get(key).pttl(key).exists(this.keys.claim(hash)).exec(),
        signal,
      );
      const [got, ttl, held] = replies ?? [];
      if (held?.[0]) throw held[0];
      const summary = this.store.adopt(hash, got, ttl);
      if (summary !== undefined) return { summary };
      return held?.[1] === 1 ? 'waiting' : 'gone';
    } catch (err) {
      if (signal.aborted) throw err;
      this.metrics.redisErrors.get.inc();
      this.logger.debug({ err }, 'condenser cache: redis poll failed');
      return 'gone';
    }
  }

  /**
   * Gives up a claim this replica failed to honour, so the replicas waiting on it claim it at
   * once instead of when it lapses. Not cancellable; failures are counted, never thrown.
   */
  release(hash: string, token: string): Promise<void> {
    return this.claims.release(hash, token);
  }

  /** Invalidates a summary here and, through an evict task, in Redis. */
  delete(hash: string): void {
    this.store.delete(hash);
  }

  /**
   * Drops every summary: memory now, Redis through a `condenser_cache/clear` task. Resolves
   * with what was removed once the task has ended; without Redis only memory is cleared.
   * Rejects (memory cleared all the same) with RedisWriteFailed when Redis failed, with a
   * TaskCancelledError when the task was cancelled (stop()), or with TaskRejectedError when
   * the cache is stopping.
   */
  async clear(): Promise<ClearResult> {
    const memory = this.store.clearMemory();
    const redis = this.redis;
    if (redis === undefined) return { memory, redis: 0 };
    const handle = this.scope.spawn(CONDENSER_CLEAR, ({ signal }) => this.unlinkAll(redis, signal));
    return { memory, redis: valueOf(await handle.settled) };
  }

  /** SCANs the prefix's summary keys and UNLINKs them, batch by batch, until the cursor ends. */
  private async unlinkAll(redis: Redis, signal: AbortSignal): Promise<number> {
    let deleted = 0;
    let cursor = '0';
    try {
      do {
        const [next, keys] = await untilAborted(
          redis.scan(cursor, 'MATCH', this.keys.entryPattern, 'COUNT', CLEAR_BATCH),
          signal,
        );
        if (keys.length > 0) deleted += await untilAborted(redis.unlink(...keys), signal);
        cursor = next;
      } while (cursor !== '0');
    } catch (err) {
      if (signal.aborted) throw err;
      this.metrics.redisErrors.del.inc();
      throw new RedisWriteFailed('del', err);
    }
    return deleted;
  }

  /** Waits (bounded) for pending persist/evict tasks; true when all settled. */
  async flush(deadlineMs = 5_000): Promise<boolean> {
    return (await this.store.flush(deadlineMs)).pending === 0;
  }

  /** Flushes, then closes the scope (cancelling whatever is still running). */
  async stop(deadlineMs = 5_000): Promise<void> {
    await this.store.stop(deadlineMs);
  }

  /**
   * Ends the claim handed to set() with the persist task of `hash`. Written: waiters find
   * the summary before they see the claim gone. Failed: they take over now rather than when
   * the claim expires. Cancelled (shutdown): it lapses.
   */
  private async settleClaim(hash: string, aborted: boolean): Promise<void> {
    const claim = this.claimsToRelease.get(hash);
    if (claim === undefined) return;
    this.claimsToRelease.delete(hash);
    if (aborted) this.claims.abandon(claim);
    else await this.release(hash, claim);
  }
}

/** A task's value, or why it has none, thrown. */
function valueOf<T>(result: TaskResult<T>): T {
  if (result.outcome === 'completed') return result.value;
  if (result.error instanceof Error) throw result.error;
  throw result.outcome === 'failed'
    ? new Error(String(result.error))
    : TaskCancelledError.of(result.reason);
}
