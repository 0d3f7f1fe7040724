/**
 * Rate-limit cooldowns shared across replicas. Without this each replica learns a provider's
 * 429 for itself: N replicas cost a rate-limited provider N rejected requests per cooldown
 * instead of one.
 *
 * - A replica that starts (or extends) a cooldown runs one script: unless
 *   `${prefix}:v1:cooldown:${provider}` already lives as long, it is SET (value: the instance
 *   id) with PX = the cooldown, and {provider, ms, by} is PUBLISHed on
 *   `${prefix}:v1:cooldowns`. The key expires when the cooldown ends; nothing deletes it.
 * - Every replica holds one subscriber connection (a duplicate of the app's client) on that
 *   channel and notes what it hears, so routing reads only local memory: no Redis round trip
 *   on the request path, and a slow Redis slows nobody.
 * - On every (re)connection the subscriber first reads each provider key's PTTL, then
 *   subscribes: a replica that starts, or comes back, during a cooldown still learns of it.
 *   NOTE: a cooldown published between those two replies is missed (a subscribed connection
 *   can't send PTTL); the cost is the one 429 this replica then gets for itself.
 * - Redis trouble never fails a request: sharing is fire-and-forget, and a replica that can't
 *   reach Redis keeps its own cooldowns, as without Redis.
 *
 * NOTE: a published cooldown is noted as `ms` from when it arrives, not as an absolute time:
 * replicas' wall clocks may disagree by more than a short cooldown lasts, and delivery takes
 * well under a millisecond on a healthy Redis.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { closeRedis } from '../cache/index.js';
import type { Logger } from '../telemetry/logger.js';
import { OutageLog } from '../telemetry/outage-log.js';

/** KEYS[1] the cooldown key; ARGV ms, instance id, channel, message. 1 when shared. */
const SHARE = `local ttl = redis.call('PTTL', KEYS[1])
if ttl >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;

export interface SharedCooldownsOptions {
  /** The app's Redis client (commandTimeout, no offline queue); the subscriber duplicates it. */
  redis: Redis;
  keyPrefix: string;
  /** Configured provider names: only these are read, and news of others is ignored. */
  providers: readonly string[];
  /** Called with what another replica noted: `provider` should not be asked for `ms`. */
  onNews: (provider: string, ms: number) => void;
  logger: Logger;
  /** Counts cooldowns that could not be shared (the app passes redis_errors{op="publish"}). */
  shareErrors?: { inc(): void };
  /** Default: a random id per process. */
  instanceId?: string;
}

interface Published {
  provider: string;
  ms: number;
  by: string;
}

export class SharedCooldowns {
  readonly instanceId: string;
  private readonly channel: string;
  private readonly known: ReadonlySet<string>;
  private subscriber: Redis | undefined;
  private readonly outage: OutageLog;

  constructor(private readonly o: SharedCooldownsOptions) {
    this.instanceId = o.instanceId ?? randomUUID();
    this.channel = `${o.keyPrefix}:v1:cooldowns`;
    this.known = new Set(o.providers);
    this.outage = new OutageLog(o.logger, {
      down: 'shared cooldowns: redis unavailable, rate limits are remembered by this replica only',
      back: 'shared cooldowns: redis back, sharing rate limits again',
    });
  }

  private key(provider: string): string {
    return `${this.o.keyPrefix}:v1:cooldown:${provider}`;
  }

  /** Opens the subscriber connection; it reads and subscribes each time it is ready. */
  start(): void {
    if (this.subscriber !== undefined) return;
    // No automatic resubscription: the PTTL reads must come first on every connection.
    const sub = this.o.redis.duplicate({ autoResubscribe: false });
    this.subscriber = sub;
    sub.on('error', (err: unknown) => this.outage.failed(err));
    sub.on('message', (channel: string, text: string) => {
      if (channel === this.channel) this.hear(text);
    });
    // NOTE: deliberate fire-and-forget: a few commands, each bounded by commandTimeout, on a
    // connection this object closes; a failure is logged and the next 'ready' tries again.
    sub.on('ready', () => void this.catchUp(sub).catch((err: unknown) => this.outage.failed(err)));
  }

  /**
   * Tells the other replicas that `provider` is cooling down for `ms`. Never waits and never
   * throws: the request that got the 429 goes on at once, whatever Redis does.
   */
  share(provider: string, ms: number): void {
    const { redis } = this.o;
    if (redis.status !== 'ready') return;
    const message = JSON.stringify({ provider, ms, by: this.instanceId } satisfies Published);
    const px = Math.ceil(ms);
    void redis.eval(SHARE, 1, this.key(provider), px, this.instanceId, this.channel, message).then(
      () => this.outage.recovered(),
      (err: unknown) => {
        this.o.shareErrors?.inc();
        this.outage.failed(err);
      },
    );
  }

  /** Closes the subscriber connection. Never rejects. */
  async close(): Promise<void> {
    const sub = this.subscriber;
    if (sub === undefined) return;
    await closeRedis(sub, 1_000);
  }

  private async catchUp(sub: Redis): Promise<void> {
    const names = [...this.known];
    const left = await Promise.all(names.map((name) => sub.pttl(this.key(name))));
    names.forEach((name, i) => {
      const ms = left[i]!;
      if (ms > 0) this.o.onNews(name, ms);
    });
    await sub.subscribe(this.channel);
    this.outage.recovered();
  }

  private hear(text: string): void {
    let news: Partial<Published>;
    try {
      news = JSON.parse(text) as Partial<Published>;
    } catch {
      return;
    }
    const { provider, ms, by } = news;
    if (by === this.instanceId || typeof provider !== 'string' || !this.known.has(provider)) return;
    if (typeof ms !== 'number' || !(ms > 0)) return;
    this.o.onNews(provider, ms);
  }
}
