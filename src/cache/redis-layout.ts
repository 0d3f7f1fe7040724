/**
 * Where the caches live in Redis: the one place their `${prefix}:v1:...` keys are built. The
 * schema version is part of every key, so a release that changes an entry format reads
 * nothing written by an older one (and the old keys simply expire: every key carries a TTL,
 * none is scanned for on any request path; only an explicit CondenserCache.clear() SCANs
 * for its own prefix's summary keys).
 */

export const RESPONSE_SCHEMA = 'v1';

/** The keys of one tiered store (see tiered-store.ts). */
export interface StoreKeys {
  /** The string key holding one encoded value. */
  entry(key: string): string;
}

export interface ResponseKeys extends StoreKeys {
  /** Sorted set of recently used cache keys (score: epoch ms of last use), for warm-up. */
  readonly hot: string;
}

export interface SummaryKeys extends StoreKeys {
  /** The key of a replica's claim on making the summary of a hash (summary-claims.ts). */
  claim(hash: string): string;
  /** A SCAN MATCH pattern for every summary key of the prefix (claims excluded). */
  readonly entryPattern: string;
}

function base(prefix: string): string {
  return `${prefix}:${RESPONSE_SCHEMA}`;
}

export function responseKeys(prefix: string): ResponseKeys {
  const b = base(prefix);
  return { hot: `${b}:hot`, entry: (key) => `${b}:resp:${key}` };
}

export function summaryKeys(prefix: string): SummaryKeys {
  const b = base(prefix);
  return {
    entry: (hash) => `${b}:sum:${hash}`,
    claim: (hash) => `${b}:sumclaim:${hash}`,
    entryPattern: `${b}:sum:*`,
  };
}

/** The Responses API's stored responses (response-store.ts), by response id. */
export function storedResponseKeys(prefix: string): StoreKeys {
  const b = base(prefix);
  return { entry: (id) => `${b}:rstore:${id}` };
}
