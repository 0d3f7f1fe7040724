/**
 * Each provider's rate-limit cooldown, as the fallback engine sees it: the pure book
 * (policy/cooldown.ts) on the real clock, its metrics, and, with Redis, the other replicas'
 * cooldowns (shared-cooldowns.ts). Routing only ever reads memory here.
 */
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Logger } from '../telemetry/logger.js';
import type { CooldownGate } from './attempt.js';
import { CooldownMetrics } from './cooldown-metrics.js';
import type { FailureKind } from '../upstream/index.js';
import { cooldownFor, Cooldowns } from './policy/index.js';
import { SharedCooldowns } from './shared-cooldowns.js';

/** With a Redis client, cooldowns are shared with every replica using the same `keyPrefix`. */
export type ProviderCooldownsOptions = CooldownsBase &
  ({ redis?: undefined; keyPrefix?: undefined } | { redis: Redis; keyPrefix: string });

interface CooldownsBase {
  /** Configured provider names. */
  providers: readonly string[];
  /** routing.cooldown.maxMs: the longest cooldown kept; 0 turns cooldowns off. */
  maxMs: number;
  registry: Registry;
  logger: Logger;
  /** Counts cooldowns that could not be shared. */
  shareErrors?: { inc(): void };
  /** Monotonic clock in milliseconds (tests). */
  now?: () => number;
}

export class ProviderCooldowns implements CooldownGate {
  private readonly book: Cooldowns;
  private readonly metrics: CooldownMetrics;
  private readonly shared: SharedCooldowns | undefined;

  constructor(o: ProviderCooldownsOptions) {
    this.book = new Cooldowns({ maxMs: o.maxMs, ...(o.now === undefined ? {} : { now: o.now }) });
    this.metrics = new CooldownMetrics(o.registry, o.providers, (p) => this.book.remainingMs(p));
    if (o.redis !== undefined && o.maxMs > 0) {
      this.shared = new SharedCooldowns({
        redis: o.redis,
        keyPrefix: o.keyPrefix,
        providers: o.providers,
        logger: o.logger,
        onNews: (provider, ms) => {
          if (this.book.note(provider, ms)) this.metrics.noted(provider, 'shared');
        },
        ...(o.shareErrors === undefined ? {} : { shareErrors: o.shareErrors }),
      });
    }
  }

  remainingMs(provider: string): number {
    return this.book.remainingMs(provider);
  }

  get maxMs(): number {
    return this.book.maxMs;
  }

  tryAcquire(provider: string): boolean {
    return this.book.tryAcquire(provider);
  }

  settle(provider: string): void {
    this.book.settle(provider);
  }

  onFailure(provider: string, kind: FailureKind, retryAfterMs: number | undefined): void {
    const ms = cooldownFor(kind, retryAfterMs, this.book.maxMs);
    if (ms === undefined) {
      this.book.settle(provider);
      return;
    }
    if (!this.book.note(provider, ms)) return;
    this.metrics.noted(provider, 'local');
    this.shared?.share(provider, ms);
  }

  /** Starts listening to the other replicas (with Redis; otherwise nothing to do). */
  start(): void {
    this.shared?.start();
  }

  /** Closes the Redis subscriber, if any. Never rejects. */
  async close(): Promise<void> {
    await this.shared?.close();
  }
}
