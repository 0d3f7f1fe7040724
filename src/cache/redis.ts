/**
 * The Redis connection of the cache tier, tuned to fail fast: the cache is an optimisation,
 * so a slow or absent Redis must cost a request microseconds (a miss), never a wait.
 *
 * - Connecting starts when the client is created (createApp does that, never an import), so
 *   a wrong URL shows up in the logs at start-up rather than on the first request.
 * - No offline queue: while disconnected every command fails at once instead of piling up
 *   in an unbounded in-process queue; one retry at most for commands caught by a disconnect.
 * - Every command is bounded by commandTimeout (ioredis commands take no AbortSignal).
 * - Reconnects forever with capped backoff; logs one line when an outage starts and one
 *   when it ends, whatever the number of failed attempts in between.
 */
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import type { Redis, RedisOptions } from 'ioredis';
import { sleep } from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';
import type { CacheMetrics } from './metrics.js';

export interface RedisClientOptions {
  url: string;
  /** Upper bound on each command, including pipelines' commands. */
  commandTimeoutMs: number;
  /** Upper bound on establishing one connection. */
  connectTimeoutMs: number;
}

/** Longest wait between reconnection attempts. */
export const MAX_RECONNECT_DELAY_MS = 2_000;

/** Exponential backoff from 50 ms, capped, never giving up. */
export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 16), MAX_RECONNECT_DELAY_MS);
}

/** The URL with any password replaced, safe for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable redis url]';
  }
}

/**
 * NOTE: only message and code are logged. ioredis errors can carry the failing command with
 * its arguments (an AUTH reply error carries the password), so the error object never is.
 */
function describe(err: unknown): { message: string; code?: string } {
  if (!(err instanceof Error)) return { message: String(err) };
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? { message: err.message, code } : { message: err.message };
}

/**
 * ioredis, loaded on the first client: ~13 MB resident (measured) that a proxy with no Redis
 * configured never needs. It is CommonJS, so a synchronous require keeps createApp synchronous.
 */
let ioredis: typeof IORedis | undefined;
function loadIoredis(): typeof IORedis {
  ioredis ??= createRequire(import.meta.url)('ioredis') as typeof IORedis;
  return ioredis;
}

export function createRedisClient(
  { url, commandTimeoutMs, connectTimeoutMs }: RedisClientOptions,
  metrics: CacheMetrics,
  logger: Logger,
): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    retryStrategy: reconnectDelay,
  };
  const client = new (loadIoredis().Redis)(url, options);
  const log = logger.child({ component: 'redis', redis: redactRedisUrl(url) });
  let outage = false;

  metrics.redisUp.set(0);
  client.on('ready', () => {
    metrics.redisUp.set(1);
    if (outage) log.info('redis connection restored');
    outage = false;
  });
  client.on('close', () => metrics.redisUp.set(0));
  client.on('end', () => metrics.redisUp.set(0));
  // Without a listener ioredis prints every failed reconnect to stderr.
  client.on('error', (err: unknown) => {
    if (outage) return;
    outage = true;
    log.warn(
      { err: describe(err) },
      'redis unavailable: cache serves from memory until it returns',
    );
  });
  return client;
}

/**
 * Closes the client: QUIT (bounded by `timeoutMs`) so the server finishes what it was sent,
 * then disconnect(). Resolves once the socket is closed, or at the deadline, so tests and
 * shutdown leave no open handle behind. Safe to call twice.
 */
export async function closeRedis(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'end') return;
  const deadline = new AbortController();
  let onEnd: (() => void) | undefined;
  const ended = new Promise<void>((resolve) => {
    onEnd = resolve;
    client.once('end', resolve);
  });
  try {
    if (client.status === 'ready') {
      await Promise.race([client.quit().catch(() => undefined), sleep(timeoutMs, deadline.signal)]);
    }
    client.disconnect();
    // Between reconnect attempts there is no socket: disconnect() just cancels the next
    // attempt and ioredis emits no 'end', so there is nothing left to wait for.
    const status: string = client.status;
    if (status === 'end' || status === 'reconnecting') return;
    await Promise.race([ended, sleep(timeoutMs, deadline.signal)]);
  } finally {
    deadline.abort();
    if (onEnd !== undefined) client.off('end', onEnd);
  }
}
