/**
 * The condenser's summary cache: an in-process LRU in front of Redis, which replicas share.
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
 * - Every Redis key is `${keyPrefix}:v1:sum:${hash}` and carries an expiry.
 * - flush() waits for pending persist/evict tasks (and claim renewals, which end with their
 *   summary's persist); stop() flushes, then closes the scope.
 *   A write racing with shutdown is refused by the spawner (TaskRejectedError): memory is
 *   still updated and the lost Redis write is counted in writesDropped.
 */
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { CacheMetrics } from '../cache/metrics.js';
import {
  CONDENSER_EVICT,
  CONDENSER_PERSIST,
  TaskRejectedError,
  type Scope,
  type TaskDefinition,
} from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';
import { SummaryClaims, type SummaryClaim } from './summary-claims.js';
import { untilAborted } from './until-aborted.js';

export type { SummaryClaim } from './summary-claims.js';

/** A summary write or delete Redis refused; an expected failure (see command()). */
export class RedisWriteFailed extends Error {
  override readonly name = 'RedisWriteFailed';
  readonly expected = true;
  constructor(op: 'set' | 'del', cause: unknown) {
    // Only the message: ioredis errors may carry the command's arguments (the summary).
    super(
      `condenser cache: redis ${op} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

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

export class CondenserCache {
  private readonly memory: LRUCache<string, string>;
  /** Newest value waiting to be written, per key with a persist task running. */
  private readonly pendingWrites = new Map<string, string>();
  /** Claims handed to set(), per key: its persist task releases them when it ends. */
  private readonly claimsToRelease = new Map<string, string>();
  private readonly scope: Scope;
  private readonly metrics: CacheMetrics;
  private readonly logger: Logger;
  private readonly redis: Redis | undefined;
  private readonly keyPrefix: string;
  private readonly ttlSeconds: number;
  private readonly claims: SummaryClaims;
  private bytes = 0;

  constructor({
    scope,
    metrics,
    logger,
    redis,
    keyPrefix,
    maxEntries,
    ttlSeconds,
    claimMs,
  }: CondenserCacheOptions) {
    this.scope = scope;
    this.metrics = metrics;
    this.logger = logger;
    this.redis = redis;
    this.keyPrefix = keyPrefix;
    this.ttlSeconds = ttlSeconds;
    this.claims = new SummaryClaims({ scope, metrics, logger, redis, keyPrefix, claimMs });
    if (redis !== undefined && typeof redis.options.commandTimeout !== 'number') {
      logger.warn(
        'condenser cache: the Redis client has no commandTimeout; a hung Redis would stall lookups',
      );
    }
    // NOTE: no ttlAutopurge: it arms a timer per entry outside the spawner. Expired entries
    // are found (and their Redis copies evicted) when they are next looked up.
    this.memory = new LRUCache<string, string>({
      max: maxEntries,
      ttl: ttlSeconds * 1000,
      dispose: (value, key, reason) => {
        this.bytes -= Buffer.byteLength(value);
        if (reason === 'expire') this.evict(key);
      },
    });
  }

  /** The Redis key of a summary hash. */
  redisKey(hash: string): string {
    return `${this.keyPrefix}:v1:sum:${hash}`;
  }

  /** The Redis key of the claim on making the summary of a hash. */
  claimKey(hash: string): string {
    return this.claims.key(hash);
  }

  /** Entries held in memory. */
  get size(): number {
    return this.memory.size;
  }

  async get(hash: string): Promise<string | undefined> {
    const local = this.memory.get(hash);
    this.updateGauges();
    if (local !== undefined) {
      this.metrics.hits.condenser.inc();
      return local;
    }
    const remote = await this.fetchRemote(hash);
    if (remote === undefined) {
      this.metrics.misses.condenser.inc();
      return undefined;
    }
    this.metrics.hits.condenser.inc();
    this.remember(hash, remote.value, remote.ttlMs);
    return remote.value;
  }

  /**
   * Stores a summary: in memory now, in Redis by a persist task. `claim`, the token of this
   * replica's claim on making it, is released by that task once the write is done or failed.
   * Returns false when no persist task took the write (none is needed without Redis, or the
   * spawner refused it): the claim, if any, is then still the caller's to release.
   */
  set(hash: string, summary: string, claim?: string): boolean {
    this.remember(hash, summary, this.ttlSeconds * 1000);
    const redis = this.redis;
    if (redis === undefined) return false;
    const running = this.pendingWrites.has(hash);
    this.pendingWrites.set(hash, summary);
    if (
      !running &&
      !this.trySpawn(CONDENSER_PERSIST, (signal) => this.persist(redis, hash, signal))
    ) {
      this.pendingWrites.delete(hash);
      return false;
    }
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
      const key = this.redisKey(hash);
      const replies = await untilAborted(
        redis.pipeline().get(key).pttl(key).exists(this.claimKey(hash)).exec(),
        signal,
      );
      const [got, ttl, held] = replies ?? [];
      if (held?.[0]) throw held[0];
      const found = this.storedSummary(got, ttl);
      if (found !== undefined) {
        this.remember(hash, found.value, found.ttlMs);
        return { summary: found.value };
      }
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
    this.memory.delete(hash);
    this.updateGauges();
    this.pendingWrites.delete(hash);
    this.evict(hash);
  }

  /** Waits (bounded) for pending persist/evict tasks; true when all settled. */
  flush(deadlineMs = 5_000): Promise<boolean> {
    return this.scope.idle(deadlineMs);
  }

  /** Flushes, then closes the scope (cancelling whatever is still running). */
  async stop(deadlineMs = 5_000): Promise<void> {
    const started = performance.now();
    await this.flush(deadlineMs);
    await this.scope.close('scope_closed', Math.max(0, deadlineMs - (performance.now() - started)));
  }

  private remember(hash: string, value: string, ttlMs: number): void {
    this.memory.set(hash, value, { ttl: ttlMs });
    this.bytes += Buffer.byteLength(value);
    this.updateGauges();
  }

  private updateGauges(): void {
    this.metrics.entries.condenser.set(this.memory.size);
    this.metrics.bytes.condenser.set(this.bytes);
  }

  private async fetchRemote(hash: string): Promise<{ value: string; ttlMs: number } | undefined> {
    const redis = this.redis;
    if (redis === undefined) return undefined;
    try {
      if (redis.status !== 'ready') throw new Error(`redis not ready (${redis.status})`);
      const key = this.redisKey(hash);
      const replies = await redis.pipeline().get(key).pttl(key).exec();
      const [got, ttl] = replies ?? [];
      return this.storedSummary(got, ttl);
    } catch (err) {
      this.metrics.redisErrors.get.inc();
      this.logger.debug({ err }, 'condenser cache: redis get failed, treated as a miss');
      return undefined;
    }
  }

  /**
   * A summary and the lifetime Redis has left for it, from a pipeline's GET and PTTL replies;
   * undefined when there is none. Throws the error of a failed reply.
   */
  private storedSummary(
    got: [Error | null, unknown] | undefined,
    ttl: [Error | null, unknown] | undefined,
  ): { value: string; ttlMs: number } | undefined {
    const failed = got?.[0] ?? ttl?.[0];
    if (failed) throw failed;
    const value = got?.[1];
    if (typeof value !== 'string') return undefined;
    const ttlMs = typeof ttl?.[1] === 'number' && ttl[1] > 0 ? ttl[1] : this.ttlSeconds * 1000;
    return { value, ttlMs };
  }

  /** Writes the newest pending value of `hash` until no newer one arrived meanwhile. */
  private async persist(redis: Redis, hash: string, signal: AbortSignal): Promise<void> {
    try {
      for (;;) {
        const value = this.pendingWrites.get(hash);
        if (value === undefined) return; // invalidated meanwhile
        await this.command(redis, 'set', signal, (r) =>
          r.set(this.redisKey(hash), value, 'EX', this.ttlSeconds),
        );
        if (this.pendingWrites.get(hash) === value) return;
      }
    } finally {
      this.pendingWrites.delete(hash);
      const claim = this.claimsToRelease.get(hash);
      this.claimsToRelease.delete(hash);
      // Written: waiters find the summary before they see the claim gone. Failed: they take
      // over now rather than when the claim expires. Cancelled (shutdown): it lapses.
      if (claim !== undefined) {
        if (signal.aborted) this.claims.abandon(claim);
        else await this.release(hash, claim);
      }
    }
  }

  private evict(hash: string): void {
    const redis = this.redis;
    if (redis === undefined) return;
    this.trySpawn(CONDENSER_EVICT, (signal) =>
      this.command(redis, 'del', signal, (r) => r.del(this.redisKey(hash))),
    );
  }

  /**
   * Runs one Redis command in a task: counted when it fails, abandoned when cancelled. A
   * failure fails the task as an expected error: the outage is already counted and logged
   * once by the client, so it must not log an error line per summary.
   */
  private async command(
    redis: Redis,
    op: 'set' | 'del',
    signal: AbortSignal,
    send: (r: Redis) => Promise<unknown>,
  ): Promise<void> {
    try {
      if (redis.status !== 'ready') throw new Error(`redis not ready (${redis.status})`);
      // ioredis takes no AbortSignal; the command itself stays bounded by commandTimeout.
      await untilAborted(send(redis), signal);
    } catch (err) {
      if (signal.aborted) throw err;
      this.metrics.redisErrors[op].inc();
      throw new RedisWriteFailed(op, err);
    }
  }

  private trySpawn(def: TaskDefinition, run: (signal: AbortSignal) => Promise<unknown>): boolean {
    try {
      this.scope.spawn(def, ({ signal }) => run(signal));
      return true;
    } catch (err) {
      if (!(err instanceof TaskRejectedError)) throw err;
      this.metrics.writesDropped.inc();
      this.logger.debug(
        { owner: err.owner, task: err.task, reason: err.reason },
        'condenser cache: redis write dropped',
      );
      return false;
    }
  }
}
