/**
 * How a tiered store copies its values to Redis: the one interface behind its two write
 * strategies (write-behind.ts: one daemon, batched pipelines; per-key-writes.ts: one task
 * per key). The store decides what to write; a writer owns the queue and its bookkeeping.
 */
import type { Scope } from '../tasks/index.js';

export interface FlushResult {
  /** Entries written to Redis while flush() waited. */
  written: number;
  /** Entries still not written when it returned (deadline passed, or no writer running). */
  pending: number;
}

export interface RedisWriter {
  /** Writes accepted and not yet written. */
  readonly depth: number;
  /** False once the store stopped and this strategy takes no more writes. */
  readonly accepting: boolean;
  /**
   * Accepts the newest encoding of `key` (SET key EX ttl, later). False when no write was
   * taken (the spawner refused it): counted in writesDropped by the writer.
   */
  write(key: string, text: string, bytes: number): boolean;
  /** Whether a write of `key` was accepted and has not reached Redis yet (where known). */
  writing?(key: string): boolean;
  /** Marks `key` as just used (where the strategy keeps a hot set; otherwise nothing). */
  touch(key: string): void;
  /** The value was invalidated: drop a pending write, delete the shared copy (or nothing). */
  delete(key: string): void;
  /** The memory copy expired (installed as the LRU's expiry hook only when present). */
  expired?(key: string): void;
  /**
   * Forgets every write not yet sent (the store was cleared), where the strategy keeps them
   * per key; a command already sent still lands.
   */
  discardPending?(): void;
  /** Starts the writer's background task, if it has one. */
  start(scope: Scope): void;
  /** Refuses writes from now on, where the strategy does (see `accepting`). */
  close(): void;
  /** Waits until everything accepted so far is written (or failed), or the deadline. */
  flush(deadlineMs: number): Promise<FlushResult>;
  /** Publishes the writer's own gauges, if it has any. */
  publish(): void;
}
