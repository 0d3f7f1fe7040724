/**
 * Claims on making a summary no cache holds yet, so that replicas sharing Redis ask the
 * summariser once between them. The first to ask takes a claim (SET NX PX on
 * `${keyPrefix}:v1:sumclaim:${hash}`); the others wait for the summary (the cache's
 * pollClaimed) until it lands, or until the claim ends without one and they claim in turn.
 *
 * A claim is a lease: it lasts `claimMs` (a few seconds) and its holder renews it every
 * third of that, in a `condenser_cache/claim_renew` task, for as long as it is making the
 * summary. The renewal extends the claim only while it is still the holder's (compare and
 * PEXPIRE in Lua), and stops when the claim is released: the summary stored, or its making
 * failed. So a slow summariser keeps its claim, and a replica that dies mid-summary (no
 * renewals, no release) is noticed within `claimMs`, not after a long fixed lifetime.
 *
 * Without Redis, or when it fails, there is nothing to agree on: each replica makes its own.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CacheMetrics } from '../cache/metrics.js';
import { summaryKeys, type SummaryKeys } from '../cache/redis-layout.js';
import {
  Cancellation,
  CONDENSER_CLAIM_RENEW,
  sleep,
  TaskRejectedError,
  type Scope,
} from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';
import { untilAborted } from '../cache/until-aborted.js';

/**
 * How this replica stands on making a summary no cache holds: it holds the claim (make it;
 * release() the claim if that fails), another replica does (wait for it), or there is no
 * shared tier to agree through (make it).
 */
export type SummaryClaim =
  { kind: 'mine'; token: string } | { kind: 'theirs' } | { kind: 'unshared' };

const UNSHARED: SummaryClaim = { kind: 'unshared' };

/** Deletes a claim only if it is still the one this replica took (it may have expired). */
const RELEASE_CLAIM = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
/** Extends a claim only if it is still the one this replica took. */
const RENEW_CLAIM = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;

/** Default lifetime of a claim that is not renewed. */
const DEFAULT_CLAIM_MS = 5_000;

export interface SummaryClaimsOptions {
  /** Where renewal tasks run (the cache's scope). */
  scope: Scope;
  metrics: CacheMetrics;
  logger: Logger;
  redis: Redis | undefined;
  keyPrefix: string;
  /** How long a claim lasts unless its holder renews it (every third of it). */
  claimMs?: number | undefined;
}

export class SummaryClaims {
  private readonly scope: Scope;
  private readonly metrics: CacheMetrics;
  private readonly logger: Logger;
  private readonly redis: Redis | undefined;
  private readonly keys: SummaryKeys;
  private readonly claimMs: number;
  private readonly renewEveryMs: number;
  /** Claim tokens: this process's random id and a counter, so a claim is told from another's. */
  private readonly tokenPrefix = randomBytes(8).toString('hex');
  private tokens = 0;
  /** Per claim held (by token): aborted to stop its renewal. */
  private readonly renewals = new Map<string, Cancellation>();

  constructor({ scope, metrics, logger, redis, keyPrefix, claimMs }: SummaryClaimsOptions) {
    this.scope = scope;
    this.metrics = metrics;
    this.logger = logger;
    this.redis = redis;
    this.keys = summaryKeys(keyPrefix);
    this.claimMs = claimMs ?? DEFAULT_CLAIM_MS;
    // Two renewals may be lost (or late by a busy loop) before the claim lapses.
    this.renewEveryMs = Math.max(10, Math.floor(this.claimMs / 3));
  }

  /** The Redis key of the claim on making the summary of a hash. */
  key(hash: string): string {
    return this.keys.claim(hash);
  }

  /**
   * Claims the making of `hash`'s summary; a claim taken is renewed until release() or
   * abandon(). A Redis failure is counted (as a failed `set`) and answered `unshared`. The
   * SET is waited for even when `signal` aborts meanwhile (bounded by the client's
   * commandTimeout), so a claim taken for a request that went away is released at once.
   */
  async claim(hash: string, signal: AbortSignal): Promise<SummaryClaim> {
    const redis = this.redis;
    if (redis === undefined || redis.status !== 'ready') return UNSHARED;
    const token = `${this.tokenPrefix}:${++this.tokens}`;
    let claim: SummaryClaim;
    try {
      const taken = await redis.set(this.key(hash), token, 'PX', this.claimMs, 'NX');
      claim = taken === 'OK' ? { kind: 'mine', token } : { kind: 'theirs' };
    } catch (err) {
      this.metrics.redisErrors.set.inc();
      this.logger.debug({ err }, 'condenser cache: redis claim failed, making the summary here');
      claim = UNSHARED;
    }
    if (signal.aborted) {
      if (claim.kind === 'mine') await this.release(hash, claim.token);
      throw signal.reason;
    }
    if (claim.kind === 'mine') this.renew(redis, hash, claim.token);
    return claim;
  }

  /**
   * Gives up a claim, so the replicas waiting on it go on at once instead of when it
   * expires. Not cancellable (it must run when the request is gone); bounded by the
   * client's commandTimeout. A failure is counted; the claim then expires.
   */
  async release(hash: string, token: string): Promise<void> {
    this.abandon(token);
    const redis = this.redis;
    if (redis === undefined) return;
    try {
      if (redis.status !== 'ready') throw new Error(`redis not ready (${redis.status})`);
      await redis.eval(RELEASE_CLAIM, 1, this.key(hash), token);
    } catch (err) {
      this.metrics.redisErrors.del.inc();
      this.logger.debug({ err }, 'condenser cache: redis claim release failed');
    }
  }

  /** Stops renewing a claim without releasing it: it expires within claimMs. */
  abandon(token: string): void {
    this.renewals.get(token)?.abort('released');
    this.renewals.delete(token);
  }

  /**
   * Renews a claim just taken every renewEveryMs until it is released or lost, or the task
   * is cancelled (shutdown). A renewal under way when the claim is released ends on its own
   * (bounded by the client's commandTimeout); cancellation ends it at once.
   */
  private renew(redis: Redis, hash: string, token: string): void {
    const stop = new Cancellation();
    this.renewals.set(token, stop);
    try {
      this.scope.spawn(CONDENSER_CLAIM_RENEW, async (task) => {
        const unhook = task.onCancel((reason) => stop.abort(reason));
        try {
          while (await sleep(this.renewEveryMs, stop)) {
            if (!(await this.extend(redis, hash, token, task.signal))) return;
          }
        } finally {
          unhook();
          if (this.renewals.get(token) === stop) this.renewals.delete(token);
        }
      });
    } catch (err) {
      // Shutting down: the claim is not renewed, and expires within claimMs.
      this.renewals.delete(token);
      if (!(err instanceof TaskRejectedError)) throw err;
    }
  }

  /**
   * One renewal. False once the claim is no longer this replica's (it lapsed, and maybe
   * another took it): nothing left to renew. A failed renewal is counted and tried again at
   * the next turn; if Redis stays away, the claim lapses and another replica may make the
   * summary too: a summariser call more, never a wrong answer.
   */
  private async extend(
    redis: Redis,
    hash: string,
    token: string,
    signal: AbortSignal,
  ): Promise<boolean> {
    try {
      if (redis.status !== 'ready') throw new Error(`redis not ready (${redis.status})`);
      const renewed = await untilAborted(
        redis.eval(RENEW_CLAIM, 1, this.key(hash), token, this.claimMs),
        signal,
      );
      return renewed === 1;
    } catch (err) {
      if (signal.aborted) throw err;
      this.metrics.redisErrors.set.inc();
      this.logger.debug({ err }, 'condenser cache: redis claim renewal failed');
      return true;
    }
  }
}
