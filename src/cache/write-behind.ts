/**
 * The write-behind queue of the Redis tier: answers are stored in memory at once and copied
 * to Redis by one daemon in pipelined batches, so no request ever waits for Redis.
 *
 * Bounded: pending writes (queued or in the pipeline in flight) never exceed `max` writes
 * nor `maxBytes` bytes; when full, the OLDEST queued writes are dropped (and counted). The
 * newest answer is the one most likely to be asked for again soon; the oldest has waited
 * longest and is already served from this replica's memory. A write larger than `maxBytes`
 * on its own is dropped rather than emptying the queue for it. Writes that fail (Redis down,
 * timeout) are dropped and counted as errors, never retried, so an outage cannot grow the
 * queue.
 */
import type { Redis } from 'ioredis';
import { sleep, type Scope, type TaskDefinition } from '../tasks/index.js';
import type { CacheMetrics } from './metrics.js';
import type { ResponseKeys } from './redis-layout.js';
import type { FlushResult, RedisWriter } from './redis-writer.js';

export interface WriteBehindOptions {
  redis: Redis;
  keys: ResponseKeys;
  ttlSeconds: number;
  /** Pending writes held at most (and pending hot-set touches at most). */
  max: number;
  /** Bytes (UTF-8) of pending writes held at most, the batch in flight included. */
  maxBytes: number;
  metrics: CacheMetrics;
  /** Entries per pipeline. */
  batchSize?: number;
  /** The daemon task start() spawns (run() may also be driven by hand, as tests do). */
  task?: TaskDefinition;
}

function takeFirst<V>(map: Map<string, V>, n: number): [string, V][] {
  const out: [string, V][] = [];
  for (const entry of map) {
    if (out.length >= n) break;
    out.push(entry);
  }
  for (const [key] of out) map.delete(key);
  return out;
}

interface Pending {
  text: string;
  bytes: number;
}

export class WriteBehind implements RedisWriter {
  private readonly queue = new Map<string, Pending>();
  private readonly touches = new Map<string, number>();
  private readonly batchSize: number;
  private inflight = 0;
  private queuedBytes = 0;
  private inflightBytes = 0;
  private written = 0;
  private running = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly idleWaiters = new Set<() => void>();

  constructor(private readonly o: WriteBehindOptions) {
    this.batchSize = o.batchSize ?? 100;
  }

  /** Writes accepted and not yet written (queued or in the pipeline in flight). */
  get depth(): number {
    return this.queue.size + this.inflight;
  }

  /** Bytes of the writes accepted and not yet written (queued or in flight). */
  get bytes(): number {
    return this.queuedBytes + this.inflightBytes;
  }

  /** False once close() was called: a stopping store queues no more Redis writes. */
  get accepting(): boolean {
    return !this.closed;
  }

  close(): void {
    this.closed = true;
  }

  /** Spawns the daemon (run()) as the `task` of the options, in `scope`. */
  start(scope: Scope): void {
    if (this.o.task !== undefined) {
      scope.spawn(this.o.task, (ctx) => this.run(ctx.signal), { kind: 'daemon' });
    }
  }

  write(key: string, text: string, bytes: number): boolean {
    this.enqueue(key, text, bytes);
    return true;
  }

  /** Drops a queued write of `key` (the shared copy expires on its own). */
  delete(key: string): void {
    this.remove(key);
    this.publish();
  }

  private get idle(): boolean {
    return this.queue.size === 0 && this.touches.size === 0 && this.inflight === 0;
  }

  /**
   * Queues `text` for `key`; a newer write of a queued key replaces it. The bounds count the
   * batch in flight too: when Redis dies mid-pipeline that batch is stuck until the command
   * timeout, and the queue must not grow past them meanwhile.
   * @param bytes the UTF-8 length of `text`, when the caller knows it already
   */
  enqueue(key: string, text: string, bytes = Buffer.byteLength(text)): void {
    if (bytes > this.o.maxBytes) {
      this.o.metrics.writesDropped.inc();
      return;
    }
    this.remove(key);
    while (this.depth >= this.o.max || this.bytes + bytes > this.o.maxBytes) {
      this.o.metrics.writesDropped.inc();
      const oldest = this.queue.keys().next();
      // Every pending write is in flight and can't be taken back: this one is the drop.
      if (oldest.done === true) return;
      this.remove(oldest.value);
    }
    this.queue.set(key, { text, bytes });
    this.queuedBytes += bytes;
    this.publish();
    this.touch(key);
    this.notify();
  }

  private remove(key: string): void {
    const pending = this.queue.get(key);
    if (pending === undefined) return;
    this.queue.delete(key);
    this.queuedBytes -= pending.bytes;
  }

  publish(): void {
    this.o.metrics.writeQueueDepth.set(this.depth);
    this.o.metrics.writeQueueBytes.set(this.bytes);
  }

  /** Marks `key` as used now in the hot set (best effort: ignored when the bound is hit). */
  touch(key: string): void {
    if (this.touches.size >= this.o.max && !this.touches.has(key)) return;
    this.touches.set(key, Date.now());
    this.notify();
  }

  /**
   * The daemon body: drains the queue in batches until `signal` aborts, sleeping without
   * polling while it is empty (enqueue wakes it). Items still queued at abort stay queued:
   * callers flush() before cancelling.
   */
  async run(signal: AbortSignal): Promise<void> {
    const onAbort = (): void => this.notify();
    signal.addEventListener('abort', onAbort, { once: true });
    this.running = true;
    try {
      while (!signal.aborted) {
        if (this.idle) {
          this.settleWaiters();
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          continue;
        }
        await this.writeBatch();
      }
    } finally {
      this.running = false;
      signal.removeEventListener('abort', onAbort);
      this.settleWaiters();
    }
  }

  /** Waits until everything accepted so far is written (or failed), or the deadline. */
  async flush(deadlineMs: number): Promise<FlushResult> {
    const before = this.written;
    if (this.running && !this.idle) {
      const deadline = new AbortController();
      let waiter: (() => void) | undefined;
      const drained = new Promise<void>((resolve) => {
        waiter = resolve;
        this.idleWaiters.add(resolve);
      });
      await Promise.race([drained, sleep(deadlineMs, deadline.signal)]);
      deadline.abort();
      if (waiter !== undefined) this.idleWaiters.delete(waiter);
    }
    return { written: this.written - before, pending: this.depth };
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private settleWaiters(): void {
    for (const resolve of this.idleWaiters) resolve();
    this.idleWaiters.clear();
  }

  private async writeBatch(): Promise<void> {
    const { redis, keys, ttlSeconds, metrics } = this.o;
    const writes = takeFirst(this.queue, this.batchSize);
    const touches = takeFirst(this.touches, this.batchSize);
    this.inflight = writes.length;
    this.inflightBytes = writes.reduce((sum, [, w]) => sum + w.bytes, 0);
    this.queuedBytes -= this.inflightBytes;
    try {
      // Fail fast while disconnected: the batch is dropped, not held for a retry.
      if (redis.status !== 'ready') {
        metrics.redisErrors.set.inc(writes.length);
        return;
      }
      const pipeline = redis.pipeline();
      for (const [key, { text }] of writes) pipeline.set(keys.entry(key), text, 'EX', ttlSeconds);
      if (touches.length > 0) {
        pipeline.zadd(keys.hot, ...touches.flatMap(([key, at]) => [at, key]));
        pipeline.expire(keys.hot, ttlSeconds);
      }
      const results = await pipeline.exec();
      let failed = 0;
      for (const [i, r] of (results ?? []).entries()) {
        if (i < writes.length && r[0] !== null) failed++;
      }
      if (results === null) failed = writes.length;
      metrics.redisErrors.set.inc(failed);
      this.written += writes.length - failed;
    } catch {
      metrics.redisErrors.set.inc(Math.max(writes.length, 1));
    } finally {
      this.inflight = 0;
      this.inflightBytes = 0;
      this.publish();
    }
  }
}
