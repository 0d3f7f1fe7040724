/**
 * The Responses API's stored responses (`store: true`, the API's default): what
 * `previous_response_id`, `GET /v1/responses/{id}` and its input items read, kept in the
 * tiered store (memory, then Redis, which replicas share) for `responses.storeTtlSeconds`.
 * A turn's next turn may go to another provider, or land on another replica: the proxy, not
 * the upstream, holds the conversation.
 *
 * Writes use the per-key strategy, as the condenser's summaries do: a few writes a second at
 * most (one per stored turn), each its own `response_store/persist` task (SET key EX ttl); a
 * deletion (DELETE /v1/responses/{id}) or a memory expiry DELs the Redis copy in a
 * `response_store/evict` task. Lookups ask Redis first when there is one (getShared), so a
 * deletion reaches every replica at once: another replica's memory copy is dropped when Redis
 * no longer has the turn (and serves only while Redis cannot answer).
 *
 * get() never throws: Redis trouble is a miss (an unknown id, answered as a 404), counted in
 * the Redis get errors.
 */
import type { Redis } from 'ioredis';
import { isRecord } from '../json.js';
import { RESPONSE_STORE_EVICT, RESPONSE_STORE_PERSIST, type Scope } from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';
import type { CacheMetrics } from './metrics.js';
import type { FlushResult } from './redis-writer.js';
import { storedResponseKeys } from './redis-layout.js';
import { TieredStore, type LookupOutcome, type StoreCodec } from './tiered-store.js';

/** One stored turn. */
export interface StoredResponse {
  /** The Response object as the client got it (its `output` the turn's output items). */
  readonly response: Record<string, unknown> & { readonly output: unknown[] };
  /**
   * The conversation's input up to this turn, oldest first: the earlier turns' input and
   * output items, then this request's input (a string input as one user message).
   */
  readonly input: readonly unknown[];
  /** The provider that served the turn (a native upstream that may hold it too). */
  readonly provider: string;
}

export interface ResponseStoreOptions {
  scope: Scope;
  metrics: CacheMetrics;
  logger: Logger;
  /** Shared tier; absent means memory only. Create it with `commandTimeout` set. */
  redis?: Redis | undefined;
  keyPrefix: string;
  ttlSeconds: number;
  maxEntries: number;
  /** Bytes held in memory at most. */
  maxBytes: number;
}

/** A stored turn read back: undefined when it is not one (a counted malformed miss). */
function decode(text: string): StoredResponse | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || !isRecord(value.response) || !Array.isArray(value.input)) {
    return undefined;
  }
  if (!Array.isArray(value.response.output) || typeof value.provider !== 'string') {
    return undefined;
  }
  return value as unknown as StoredResponse;
}

const JSON_CODEC: StoreCodec<StoredResponse> = {
  encode: (value) => JSON.stringify(value),
  decode,
};

export class ResponseStore {
  private readonly store: TieredStore<StoredResponse, StoredResponse>;

  constructor(o: ResponseStoreOptions) {
    const { metrics } = o;
    this.store = new TieredStore({
      scope: o.scope,
      metrics,
      logger: o.logger,
      label: 'response store',
      kind: 'response_store',
      redis: o.redis,
      keys: storedResponseKeys(o.keyPrefix),
      codec: JSON_CODEC,
      ttlSeconds: o.ttlSeconds,
      maxEntries: o.maxEntries,
      maxBytes: o.maxBytes,
      writes: { kind: 'per_key', persist: RESPONSE_STORE_PERSIST, evict: RESPONSE_STORE_EVICT },
      hit: (value) => value,
      onLookup: (outcome: LookupOutcome) => {
        if (outcome === 'failed' || outcome === 'unready' || outcome === 'malformed') {
          metrics.redisErrors.get.inc();
        }
      },
    });
  }

  /** Entries held in memory. */
  get size(): number {
    return this.store.size;
  }

  /** The Redis key of a response id. */
  redisKey(id: string): string {
    return this.store.redisKey(id);
  }

  /**
   * The stored turn `id`, or undefined (never stored, expired, deleted, Redis failing). With
   * Redis, Redis decides (getShared): a turn deleted through another replica is gone here too.
   */
  async get(id: string): Promise<StoredResponse | undefined> {
    return this.store.getShared(id);
  }

  /** Stores a turn under its response's id: memory now, Redis by a persist task. */
  set(id: string, value: StoredResponse): void {
    this.store.set(id, value);
  }

  /** Deletes a turn here and, by an evict task, in Redis. */
  delete(id: string): void {
    this.store.delete(id);
  }

  /** Drops expired entries from memory (their evict tasks DEL the Redis copies). */
  purgeStale(): void {
    this.store.purgeStale();
  }

  /** Waits (bounded) for pending persist/evict tasks. */
  flush(deadlineMs = 5_000): Promise<FlushResult> {
    return this.store.flush(deadlineMs);
  }

  /** Flushes, then closes the scope (cancelling whatever is still running). */
  async stop(deadlineMs = 5_000): Promise<void> {
    await this.store.stop(deadlineMs);
  }
}
