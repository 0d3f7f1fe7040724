/**
 * The per-key write strategy of a tiered store: each write of a key runs as one task that
 * SETs that key (EX ttl), and each invalidation (delete, or expiry in memory) as one task
 * that DELs it. While a key's write task runs, further writes of that key reuse it: the task
 * writes the newest value before it ends. Failures are counted and fail the task as an
 * expected error (the outage is logged once by the client, not once per value); a write
 * racing with shutdown is refused by the spawner and counted in writesDropped.
 *
 * flush() waits for the store's whole scope to be idle, so work its owner runs in the same
 * scope (the condenser's claim renewals) is waited for too.
 */
import type { Redis } from 'ioredis';
import {
  EXPECTED_FAILURE,
  TaskRejectedError,
  type Scope,
  type TaskDefinition,
} from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';
import type { CacheMetrics } from './metrics.js';
import type { StoreKeys } from './redis-layout.js';
import type { FlushResult, RedisWriter } from './redis-writer.js';
import { untilAborted } from './until-aborted.js';

/** A write or delete Redis refused; an expected failure (see command()). */
export class RedisWriteFailed extends Error {
  override readonly name = 'RedisWriteFailed';
  readonly [EXPECTED_FAILURE] = true;
  constructor(op: 'set' | 'del', cause: unknown, owner = 'condenser cache') {
    // Only the message: ioredis errors may carry the command's arguments (the value).
    super(
      `${owner}: redis ${op} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

export interface PerKeyWritesOptions {
  scope: Scope;
  redis: Redis;
  keys: StoreKeys;
  ttlSeconds: number;
  metrics: CacheMetrics;
  logger: Logger;
  /** Names the owner in errors and logs (e.g. "condenser cache"). */
  label: string;
  /** The task writing one key. */
  persist: TaskDefinition;
  /** The task deleting one key. */
  evict: TaskDefinition;
  /**
   * Called as a key's write task ends (written, failed, or cancelled: `aborted`), inside the
   * task, so flush() waits for it too.
   */
  settled?: ((key: string, aborted: boolean) => Promise<void>) | undefined;
}

export class PerKeyWrites implements RedisWriter {
  /** Newest value waiting to be written, per key with a write task running. */
  private readonly pending = new Map<string, string>();
  private written = 0;

  constructor(private readonly o: PerKeyWritesOptions) {}

  get depth(): number {
    return this.pending.size;
  }

  /** Always: after stop the spawner refuses the task, and that refusal is counted. */
  get accepting(): boolean {
    return true;
  }

  write(key: string, text: string): boolean {
    const running = this.pending.has(key);
    this.pending.set(key, text);
    if (running || this.trySpawn(this.o.persist, (signal) => this.persist(key, signal))) {
      return true;
    }
    this.pending.delete(key);
    return false;
  }

  /** A key's value stays pending until its write task has SET it (see persist()). */
  writing(key: string): boolean {
    return this.pending.has(key);
  }

  touch(): void {}

  delete(key: string): void {
    this.pending.delete(key);
    this.expired(key);
  }

  expired(key: string): void {
    const entry = this.o.keys.entry(key);
    this.trySpawn(this.o.evict, (signal) => this.command('del', signal, (r) => r.del(entry)));
  }

  /** A write task finding its key's value gone ends without writing it (see persist()). */
  discardPending(): void {
    this.pending.clear();
  }

  start(): void {}

  close(): void {}

  publish(): void {}

  async flush(deadlineMs: number): Promise<FlushResult> {
    const before = this.written;
    const settled = await this.o.scope.idle(deadlineMs);
    const pending = settled ? 0 : Math.max(this.pending.size, this.o.scope.count());
    return { written: this.written - before, pending };
  }

  /** Writes the newest pending value of `key` until no newer one arrived meanwhile. */
  private async persist(key: string, signal: AbortSignal): Promise<void> {
    const { keys, ttlSeconds, settled } = this.o;
    try {
      for (;;) {
        const value = this.pending.get(key);
        if (value === undefined) return; // invalidated meanwhile
        await this.command('set', signal, (r) => r.set(keys.entry(key), value, 'EX', ttlSeconds));
        this.written++;
        if (this.pending.get(key) === value) return;
      }
    } finally {
      this.pending.delete(key);
      if (settled !== undefined) await settled(key, signal.aborted);
    }
  }

  /**
   * Runs one Redis command in a task: counted when it fails, abandoned when cancelled. A
   * failure fails the task as an expected error: the outage is already counted and logged
   * once by the client, so it must not log an error line per value.
   */
  private async command(
    op: 'set' | 'del',
    signal: AbortSignal,
    send: (r: Redis) => Promise<unknown>,
  ): Promise<void> {
    const { redis } = this.o;
    try {
      if (redis.status !== 'ready') throw new Error(`redis not ready (${redis.status})`);
      // ioredis takes no AbortSignal; the command itself stays bounded by commandTimeout.
      await untilAborted(send(redis), signal);
    } catch (err) {
      if (signal.aborted) throw err;
      this.o.metrics.redisErrors[op].inc();
      throw new RedisWriteFailed(op, err, this.o.label);
    }
  }

  private trySpawn(def: TaskDefinition, run: (signal: AbortSignal) => Promise<unknown>): boolean {
    try {
      this.o.scope.spawn(def, ({ signal }) => run(signal));
      return true;
    } catch (err) {
      if (!(err instanceof TaskRejectedError)) throw err;
      this.o.metrics.writesDropped.inc();
      this.o.logger.debug(
        { owner: err.owner, task: err.task, reason: err.reason },
        `${this.o.label}: redis write dropped`,
      );
      return false;
    }
  }
}
