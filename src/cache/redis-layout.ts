/**
 * Where the response cache lives in Redis. The schema version is part of every key, so a
 * release that changes the entry format reads nothing written by an older one (and the old
 * keys simply expire: every key carries a TTL, none is ever scanned for).
 */

export const RESPONSE_SCHEMA = 'v1';

export interface ResponseKeys {
  /** Sorted set of recently used cache keys (score: epoch ms of last use), for warm-up. */
  readonly hot: string;
  /** The string key holding one serialised CachedAnswer. */
  entry(key: string): string;
}

export function responseKeys(prefix: string): ResponseKeys {
  const base = `${prefix}:${RESPONSE_SCHEMA}`;
  return { hot: `${base}:hot`, entry: (key) => `${base}:resp:${key}` };
}
