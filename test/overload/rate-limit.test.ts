import { Redis } from 'ioredis';
import { Agent, fetch, type Response } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const KEY_A = 'proxy-key-alpha-7f3c';
const KEY_B = 'proxy-key-bravo-91d2';

function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    auth: { apiKeys: [KEY_A, KEY_B], rateLimit: { requestsPerMinute: 60, burst: 3 } },
    providers: [{ name: 'local', type: 'demo', models: ['demo-model'], latencyMs: 0 }],
    routing: { healthCheck: { enabled: false } },
    ...extra,
  };
}

/**
 * One connection pool per replica, closed before the replicas stop: a keep-alive socket to
 * one replica would otherwise count as a leaked resource in the other's leak check.
 */
const pools = new Map<string, Agent>();
async function closePools(): Promise<void> {
  await Promise.all([...pools.values()].map((a) => a.close()));
  pools.clear();
}

async function chat(proxy: RunningProxy, key: string): Promise<Response> {
  let dispatcher = pools.get(proxy.url);
  if (dispatcher === undefined) {
    dispatcher = new Agent();
    pools.set(proxy.url, dispatcher);
  }
  return fetch(`${proxy.url}/v1/chat/completions`, {
    dispatcher,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-model', messages: [{ role: 'user', content: 'hi' }] }),
  });
}

async function statuses(proxy: RunningProxy, key: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await chat(proxy, key);
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

/** Waits until the app's Redis client is connected, so the shared path is taken. */
async function redisReady(proxy: RunningProxy): Promise<void> {
  await vi.waitFor(async () => expect(await proxy.metric('llm_proxy_cache_redis_up')).toBe(1), {
    timeout: 5_000,
  });
}

/** Waits until `n` replicas listen for shared cooldowns under `prefix`. */
async function subscribers(inspect: Redis, prefix: string, n: number): Promise<void> {
  const channel = `${prefix}:v1:cooldowns`;
  await vi.waitFor(
    async () => {
      const reply = (await inspect.pubsub('NUMSUB', channel)) as [string, number];
      expect(reply[1]).toBe(n);
    },
    { timeout: 5_000 },
  );
}

describe('per-key rate limits (memory)', () => {
  it('answers the request past the burst with 429, Retry-After and an OpenAI error; other keys are unaffected', async () => {
    const proxy = await startProxy(config());
    try {
      expect(await statuses(proxy, KEY_A, 3)).toEqual([200, 200, 200]);
      const refused = await chat(proxy, KEY_A);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await refused.json()).toEqual({
        error: {
          message: expect.stringContaining('Retry-After') as unknown,
          type: 'rate_limit_error',
          param: null,
          code: 'rate_limit_exceeded',
        },
      });
      expect(await proxy.metric('llm_proxy_requests_shed_total', { reason: 'rate_limit' })).toBe(1);
      // Refused before any work: no request task was started for it.
      expect(await proxy.metric('llm_proxy_tasks_started_total', { owner: 'http' })).toBe(3);

      expect(await statuses(proxy, KEY_B, 3)).toEqual([200, 200, 200]);
      expect(await proxy.metric('llm_proxy_requests_shed_total', { reason: 'rate_limit' })).toBe(1);
      expect(
        await proxy.metric('llm_proxy_http_requests_total', {
          route: '/v1/chat/completions',
          status: '429',
        }),
      ).toBe(1);
    } finally {
      await closePools();
      await proxy.stop();
    }
  });

  it('lets a refused key through again once a token has refilled', async () => {
    const proxy = await startProxy(
      config({
        auth: { apiKeys: [KEY_A], rateLimit: { requestsPerMinute: 600, burst: 1 } },
      }),
    );
    try {
      expect(await statuses(proxy, KEY_A, 2)).toEqual([200, 429]);
      await new Promise((r) => setTimeout(r, 120)); // 600/min: one token per 100 ms
      expect(await statuses(proxy, KEY_A, 1)).toEqual([200]);
    } finally {
      await closePools();
      await proxy.stop();
    }
  });
});

describe('per-key rate limits shared through Redis', () => {
  let redis: RedisServer;
  let inspect: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    inspect = new Redis(redis.url, { lazyConnect: true });
    inspect.on('error', () => undefined); // it reconnects by itself after the outage test
    await inspect.connect();
  });
  afterAll(async () => {
    await inspect.quit();
    await redis.stop();
  });
  const shared = (prefix: string): Record<string, unknown> =>
    config({ cache: { redis: { url: redis.url, keyPrefix: prefix } } });

  it('two replicas with the same key share one budget', async () => {
    const one = await startProxy(shared('share'));
    // Replica one's connections are all open before two takes its baseline of open handles.
    await redisReady(one);
    await subscribers(inspect, 'share', 1);
    const two = await startProxy(shared('share'));
    try {
      await redisReady(two);
      await subscribers(inspect, 'share', 2);
      expect(await statuses(one, KEY_A, 2)).toEqual([200, 200]);
      expect(await statuses(two, KEY_A, 2)).toEqual([200, 429]);
      expect(await statuses(one, KEY_A, 1)).toEqual([429]);
      expect(await two.metric('llm_proxy_requests_shed_total', { reason: 'rate_limit' })).toBe(1);
      expect(await one.metric('llm_proxy_requests_shed_total', { reason: 'rate_limit' })).toBe(1);
      // The other key's budget is its own, on both replicas.
      expect(await statuses(two, KEY_B, 2)).toEqual([200, 200]);
      expect(await statuses(one, KEY_B, 2)).toEqual([200, 429]);
    } finally {
      await closePools();
      await two.stop();
      await one.stop();
    }
  });

  it('names buckets in Redis by a digest of the key and lets them expire', async () => {
    const proxy = await startProxy(shared('names'));
    try {
      await redisReady(proxy);
      await statuses(proxy, KEY_A, 1);
      const keys = await inspect.keys('names:ratelimit:*');
      expect(keys).toHaveLength(1);
      expect(keys[0]).not.toContain(KEY_A);
      const ttl = await inspect.pttl(keys[0]!);
      // A full refill of 3 tokens at 1/s takes 3 s; the key lives about that long.
      expect(ttl).toBeGreaterThan(2_000);
      expect(ttl).toBeLessThanOrEqual(4_000);
      const stored = await inspect.hgetall(keys[0]!);
      expect(Number(stored.tokens)).toBeCloseTo(2, 3);
    } finally {
      await closePools();
      await proxy.stop();
    }
  });

  it('refuses a key known to be empty without a Redis round trip', async () => {
    const proxy = await startProxy(shared('mirror'));
    try {
      await redisReady(proxy);
      expect(await statuses(proxy, KEY_A, 4)).toEqual([200, 200, 200, 429]);
      const calls = async (): Promise<number> => {
        const info = await inspect.info('commandstats');
        return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
      };
      const before = await calls();
      expect(await statuses(proxy, KEY_A, 20)).toEqual(Array<number>(20).fill(429));
      expect(await calls()).toBe(before);
    } finally {
      await closePools();
      await proxy.stop();
    }
  });

  it('keeps limiting per replica, and never fails a request, while Redis is down', async () => {
    const proxy = await startProxy(shared('outage'));
    try {
      await redisReady(proxy);
      expect(await statuses(proxy, KEY_A, 1)).toEqual([200]);
      await redis.kill();
      await vi.waitFor(async () => expect(await proxy.metric('llm_proxy_cache_redis_up')).toBe(0));
      // The local mirror knows 2 tokens are left: it carries on from there.
      expect(await statuses(proxy, KEY_A, 3)).toEqual([200, 200, 429]);
      await redis.restart();
      await redisReady(proxy);
      // Back on the shared bucket: the restarted (empty) Redis holds the next key's bucket.
      expect(await inspect.keys('outage:ratelimit:*')).toHaveLength(0);
      expect(await statuses(proxy, KEY_B, 1)).toEqual([200]);
      expect(await inspect.keys('outage:ratelimit:*')).toHaveLength(1);
    } finally {
      await closePools();
      await proxy.stop();
    }
  });
});
