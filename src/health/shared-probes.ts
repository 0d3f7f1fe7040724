/**
 * Shared health across replicas. With Redis configured, one replica at a time probes each
 * provider and publishes the result; the others read it. N replicas then cost a provider one
 * probe per interval instead of N, and they all route on the same view of it.
 *
 * - Per provider, a lock `${prefix}:v1:health:lock:${provider}` holds the prober's instance
 *   id. It is taken with SET NX PX and renewed each round by its holder only (compare and
 *   set, in Lua). It expires after a few intervals, so when a holder dies another replica
 *   takes over within one expiry; a holder that stops releases its locks at once.
 * - The holder probes (the health checker's probe: a `health_checker/probe` task) and
 *   publishes `${prefix}:v1:health:result:${provider}` = {ok, latencyMs, at, by, failure?}.
 * - The others use each published result once, if it is fresh (see newsFrom). A stale one
 *   is no news: health stays as it was rather than being fed an old probe.
 * - Redis trouble never costs health: a provider whose lock or result can't be read this
 *   round is probed locally, as without Redis. So is one without news for two lock expiries
 *   while someone holds its lock (a holder that renews but can't publish).
 *
 * NOTE: ioredis commands take no AbortSignal; each is bounded by the client's
 * commandTimeout, and no new command is sent once the round's signal has aborted.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { waitUntilReady } from '../cache/index.js';
import type { Provider } from '../upstream/index.js';
import { sleep, type TaskContext } from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';
import { OutageLog } from '../telemetry/outage-log.js';
import type { ProbeSource } from './health-checker.js';
import type { ProbeResult } from './health-state.js';
import { SharedProbesMetrics } from './shared-probes-metrics.js';
import {
  decodeResult,
  encodeResult,
  newsFrom,
  sharedHealthKeys,
  type PublishedResult,
  type SharedHealthKeys,
} from './shared-result.js';

/** Extends the lock's expiry only while this instance still holds it. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes the lock only while this instance still holds it. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface SharedProbesOptions {
  /** The app's Redis client (created with commandTimeout and no offline queue). */
  redis: Redis;
  keyPrefix: string;
  /** The health-check interval; lock expiry and result freshness are multiples of it. */
  intervalMs: number;
  logger: Logger;
  registry: Registry;
  /** Default: a random id per process. */
  instanceId?: string;
  /** Lock expiry. Default 3 intervals: renewals may come late by jitter and a slow probe. */
  lockTtlMs?: number;
  /** Published results older than this are no news. Default 2 intervals. */
  maxResultAgeMs?: number;
  /** Counts results that could not be published (the app passes redis_errors{op="publish"}). */
  publishErrors?: { inc(): void };
}

interface ProviderState {
  held: boolean;
  lastUsed: PublishedResult | undefined;
  /** When this replica last had news of the provider (a fresh result, or its own probe). */
  newsAt: number;
}

type Probe = (p: Provider) => Promise<ProbeResult>;

export class RedisSharedProbes implements ProbeSource {
  readonly instanceId: string;
  private readonly keys: SharedHealthKeys;
  private readonly lockTtlMs: number;
  private readonly maxResultAgeMs: number;
  private readonly metrics: SharedProbesMetrics;
  private readonly states = new Map<string, ProviderState>();
  private watched: AbortSignal | undefined;
  private readonly outage: OutageLog;
  private stopped = false;
  private connectedOnce = false;

  constructor(private readonly o: SharedProbesOptions) {
    this.instanceId = o.instanceId ?? randomUUID();
    this.keys = sharedHealthKeys(o.keyPrefix);
    this.lockTtlMs = o.lockTtlMs ?? 3 * o.intervalMs;
    this.maxResultAgeMs = o.maxResultAgeMs ?? 2 * o.intervalMs;
    this.metrics = new SharedProbesMetrics(o.registry);
    this.outage = new OutageLog(o.logger, {
      down: 'shared health: redis unavailable, probing locally until it returns',
      back: 'shared health: redis back, sharing probes again',
    });
  }

  async round(
    ctx: TaskContext,
    providers: readonly Provider[],
    probe: Probe,
  ): Promise<Map<string, ProbeResult>> {
    this.releaseWhenCancelled(ctx.signal);
    await this.firstConnection(ctx.signal);
    const outcomes = await Promise.all(providers.map((p) => this.one(p, probe, ctx.signal)));
    const results = new Map<string, ProbeResult>();
    providers.forEach((p, i) => {
      const result = outcomes[i];
      if (result !== undefined) results.set(p.name, result);
    });
    return results;
  }

  /** Providers this instance probes for everyone right now. */
  holding(): string[] {
    return [...this.states].filter(([, s]) => s.held).map(([name]) => name);
  }

  /**
   * Releases every lock held, so another replica takes over at its next round rather than
   * after an expiry; later rounds only read. Never rejects; a lock it fails to release
   * simply expires.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    const names = this.holding();
    for (const name of names) this.setHeld(name, false);
    const { redis } = this.o;
    if (names.length === 0 || redis.status !== 'ready') return;
    await Promise.all(
      names.map((name) =>
        redis.eval(RELEASE, 1, this.keys.lock(name), this.instanceId).catch((err: unknown) => {
          this.o.logger.debug({ provider: name, err: String(err) }, 'health lock not released');
        }),
      ),
    );
    this.o.logger.info({ providers: names, instance: this.instanceId }, 'health locks released');
  }

  private async one(
    p: Provider,
    probe: Probe,
    signal: AbortSignal,
  ): Promise<ProbeResult | undefined> {
    const state = this.state(p.name);
    let holder: boolean;
    let text: string | null = null;
    try {
      holder = await this.claim(p.name, state, signal);
      if (!holder && !signal.aborted) text = await this.o.redis.get(this.keys.result(p.name));
    } catch (err) {
      return this.probeLocally(p, probe, state, err);
    }
    this.outage.recovered();
    if (signal.aborted) return undefined;
    if (holder) {
      const result = await probe(p);
      this.metrics.round(p.name, 'probed');
      state.newsAt = Date.now();
      if (!signal.aborted) await this.publish(p.name, result);
      return result;
    }
    const now = Date.now();
    const published = decodeResult(text);
    const news = newsFrom(published, state.lastUsed, now, this.maxResultAgeMs);
    if (news !== undefined) {
      state.lastUsed = published;
      state.newsAt = now;
      this.metrics.round(p.name, 'read');
      return news;
    }
    if (now - state.newsAt > 2 * this.lockTtlMs) {
      // Someone holds the lock but publishes nothing we can use: don't go blind.
      return this.probeLocally(p, probe, state, undefined);
    }
    this.metrics.round(p.name, 'no_news');
    return undefined;
  }

  /** True when this instance holds (kept or just took) the provider's lock. */
  private async claim(name: string, state: ProviderState, signal: AbortSignal): Promise<boolean> {
    const { redis } = this.o;
    if (redis.status !== 'ready') throw new Error(`redis not ready (${redis.status})`);
    const key = this.keys.lock(name);
    if (state.held) {
      if ((await redis.eval(RENEW, 1, key, this.instanceId, this.lockTtlMs)) === 1) return true;
      this.setHeld(name, false);
      this.o.logger.info({ provider: name, instance: this.instanceId }, 'health lock lost');
    }
    if (this.stopped || signal.aborted) return false;
    if ((await redis.set(key, this.instanceId, 'PX', this.lockTtlMs, 'NX')) !== 'OK') return false;
    if (this.stopped || signal.aborted) {
      // Taken while stopping: hand it straight back (a failure just lets it expire).
      await redis.eval(RELEASE, 1, key, this.instanceId).catch(() => undefined);
      return false;
    }
    this.setHeld(name, true);
    this.o.logger.info(
      { provider: name, instance: this.instanceId },
      'health lock taken: probing this provider for every replica',
    );
    return true;
  }

  private async publish(name: string, result: ProbeResult): Promise<void> {
    const text = encodeResult(result, Date.now(), this.instanceId);
    try {
      await this.o.redis.set(this.keys.result(name), text, 'PX', this.lockTtlMs);
    } catch (err) {
      // The others see no news; this replica still has its own result.
      this.o.publishErrors?.inc();
      this.outage.failed(err);
    }
  }

  private async probeLocally(
    p: Provider,
    probe: Probe,
    state: ProviderState,
    err: unknown,
  ): Promise<ProbeResult> {
    if (err !== undefined) this.outage.failed(err);
    this.metrics.round(p.name, 'local');
    const result = await probe(p);
    state.newsAt = Date.now();
    return result;
  }

  /**
   * At start-up the client is usually still connecting: wait for it up to half an interval
   * rather than have every replica of a rollout probe everything locally once.
   */
  private async firstConnection(signal: AbortSignal): Promise<void> {
    const { redis } = this.o;
    if (redis.status === 'ready') this.connectedOnce = true;
    if (this.connectedOnce || !['wait', 'connecting', 'connect'].includes(redis.status)) return;
    const bound = new AbortController();
    const stop = (): void => bound.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await Promise.race([
        waitUntilReady(redis, bound.signal),
        sleep(this.o.intervalMs / 2, bound.signal),
      ]);
    } finally {
      bound.abort();
      signal.removeEventListener('abort', stop);
    }
  }

  private releaseWhenCancelled(signal: AbortSignal): void {
    if (this.watched === signal) return;
    this.watched = signal;
    // NOTE: deliberate fire-and-forget: the loop task is ending and its scope closing, so
    // nothing can be spawned; the release is one Redis command bounded by commandTimeout,
    // sent before the app's QUIT, and stop() never rejects.
    signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  private state(name: string): ProviderState {
    let state = this.states.get(name);
    if (state === undefined) {
      state = { held: false, lastUsed: undefined, newsAt: Date.now() };
      this.states.set(name, state);
      this.metrics.track(name);
    }
    return state;
  }

  private setHeld(name: string, held: boolean): void {
    this.state(name).held = held;
    this.metrics.held(name, held);
  }
}
