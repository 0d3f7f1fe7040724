/**
 * Per-key rate limits as token buckets (`auth.rateLimit: { requestsPerMinute, burst }`): a
 * bucket holds up to `burst` tokens, refills at requestsPerMinute / 60 per second, and every
 * proxied request takes one. Refill is lazy (computed from the time of the last take), so
 * there are no timers. Buckets are keyed by a SHA-256 digest of the API key, never the key.
 *
 * Memory only: one bounded LRU of buckets; the hook answers synchronously.
 *
 * Shared (Redis): one atomic Lua script per request takes the token from the shared bucket
 * (clocked by Redis TIME, so replicas agree) and sets the key's expiry to the time a full
 * refill takes. The local bucket then mirrors the last known shared state, which gives two
 * things for free: a key that is known to be empty is refused without a round trip (the
 * shared bucket can only have fewer tokens than the mirror, never more), and when Redis is
 * down, slow or failing the mirror carries on as a per-replica limit. A Redis failure never
 * fails a request.
 */
import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';

/** Seconds until a token is available (for Retry-After), or undefined when allowed. */
export type RateVerdict = number | undefined;

/** The `rateLimit` hook of ProxyRequestDeps. Only the shared limiter ever returns a Promise. */
export type RateLimitHook = (key: string) => RateVerdict | Promise<RateVerdict>;

export interface BucketPolicy {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /** Bucket capacity: requests allowed back to back after a quiet period. */
  readonly burst: number;
}

export interface Bucket {
  tokens: number;
  /** Clock reading (ms) at which `tokens` was last computed. */
  at: number;
}

/**
 * Without Redis the budget is this replica's; with a client (commands bounded by its
 * commandTimeout) it is shared by every replica using the same key prefix
 * (cache.redis.keyPrefix, whose default lives in the config schema).
 */
export type RateLimiterOptions = RateLimiterBase &
  ({ redis?: undefined; keyPrefix?: undefined } | { redis: Redis; keyPrefix: string });

interface RateLimiterBase {
  requestsPerMinute: number;
  /** Default: requestsPerMinute. */
  burst?: number;
  /** Buckets kept in memory; the least recently used beyond it are forgotten (i.e. full). */
  maxKeys?: number;
  /** Milliseconds clock; tests inject one. */
  now?: () => number;
  logger?: Logger;
}

export function bucketPolicy(requestsPerMinute: number, burst = requestsPerMinute): BucketPolicy {
  return { ratePerSecond: requestsPerMinute / 60, burst };
}

/** Brings a bucket up to `now` (never past capacity; a clock going backwards adds nothing). */
export function refill(bucket: Bucket, now: number, policy: BucketPolicy): void {
  const elapsed = Math.max(0, now - bucket.at) / 1000;
  bucket.tokens = Math.min(policy.burst, bucket.tokens + elapsed * policy.ratePerSecond);
  bucket.at = Math.max(bucket.at, now);
}

// Fractions of a token add up with rounding error (5 x 0.2 is 0.9999999999999999); a client
// sending at exactly the configured rate must not be refused for it.
const WHOLE = 1 - 1e-9;

/** Seconds until the bucket holds one whole token (0 when it already does). */
export function waitForToken(bucket: Bucket, policy: BucketPolicy): number {
  return bucket.tokens >= WHOLE ? 0 : (1 - bucket.tokens) / policy.ratePerSecond;
}

/** Refills, then takes one token; returns the wait in seconds when there is none. */
export function takeToken(bucket: Bucket, now: number, policy: BucketPolicy): RateVerdict {
  refill(bucket, now, policy);
  const wait = waitForToken(bucket, policy);
  if (wait > 0) return wait;
  bucket.tokens -= 1;
  return undefined;
}

/** The bucket id of a key: a digest, so no key is ever held in memory maps or Redis key names. */
export function bucketId(key: string): string {
  return hash('sha256', key, 'base64url').slice(0, 22);
}

/**
 * KEYS[1] the bucket; ARGV rate (tokens/s), burst. Returns {tokens left, seconds to wait}
 * as strings (Lua numbers would be truncated to integers on the way out).
 */
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 - 1e-9 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {tostring(tokens), tostring(wait)}
`;
const TAKE_SHA = hash('sha1', TAKE_SCRIPT, 'hex');

export function createRateLimiter(
  options: RateLimiterOptions & { redis?: undefined },
): (key: string) => RateVerdict;
export function createRateLimiter(options: RateLimiterOptions): RateLimitHook;
export function createRateLimiter(options: RateLimiterOptions): RateLimitHook {
  const policy = bucketPolicy(options.requestsPerMinute, options.burst);
  const now = options.now ?? Date.now;
  const buckets = new LRUCache<string, Bucket>({ max: options.maxKeys ?? 10_000 });
  const bucketOf = (id: string): Bucket => {
    let b = buckets.get(id);
    if (b === undefined) {
      b = { tokens: policy.burst, at: now() };
      buckets.set(id, b);
    }
    return b;
  };

  if (options.redis === undefined) {
    return (key) => takeToken(bucketOf(bucketId(key)), now(), policy);
  }
  const { redis } = options;
  const prefix = `${options.keyPrefix}:ratelimit:`;
  const args = [String(policy.ratePerSecond), String(policy.burst)];
  let failing = false;
  const takeShared = async (id: string): Promise<[string, string]> => {
    try {
      return (await redis.evalsha(TAKE_SHA, 1, prefix + id, ...args)) as [string, string];
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return (await redis.eval(TAKE_SCRIPT, 1, prefix + id, ...args)) as [string, string];
    }
  };
  const shared = async (id: string): Promise<RateVerdict> => {
    try {
      const [tokens, wait] = await takeShared(id);
      if (failing) options.logger?.info('rate limits are shared through redis again');
      failing = false;
      buckets.set(id, { tokens: Number(tokens), at: now() });
      const seconds = Number(wait);
      return seconds > 0 ? seconds : undefined;
    } catch (err) {
      if (!failing) {
        options.logger?.warn(
          { err: { message: (err as Error).message } },
          'redis unavailable: rate limits are enforced per replica until it returns',
        );
      }
      failing = true;
      return takeToken(bucketOf(id), now(), policy);
    }
  };

  return (key) => {
    const id = bucketId(key);
    const mirror = bucketOf(id);
    refill(mirror, now(), policy);
    const wait = waitForToken(mirror, policy);
    if (wait > 0) return wait;
    if (redis.status !== 'ready') return takeToken(mirror, now(), policy);
    return shared(id);
  };
}
