/**
 * Rate-limit cooldowns shared across replicas through a real redis-server: once one replica
 * has been told 429 + Retry-After by a provider, the others send that provider nothing until
 * the cooldown ends, including a replica that starts in the middle of it. Redis going away
 * costs only the sharing: each replica still remembers its own 429s, and no request fails
 * for it.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  startFakeUpstream,
  type FakeUpstream,
  type FakeUpstreamOptions,
} from '../../src/fake-upstream/index.js';
import { chatBody, chatRequests, apiError } from '../proxy/fallback-support.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { eventually, stopReplicas } from './replicas.js';

let server: RedisServer;
let upstreams: FakeUpstream[] = [];
let running: RunningProxy[] = [];
let prefixes = 0;

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});
afterEach(async () => {
  const replicas = running;
  running = [];
  await stopReplicas(replicas);
  await Promise.all(upstreams.map((u) => u.close()));
  upstreams = [];
});

async function upstream(name: string, options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const u = await startFakeUpstream({ name, ...options });
  upstreams.push(u);
  return u;
}

/** Runs `fn` with a direct connection to the test's redis-server. */
async function direct<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    return await fn(redis);
  } finally {
    await redis.quit();
  }
}

/** Starts one replica; all replicas of a test share its key prefix. */
async function replica(
  keyPrefix: string,
  providers: { name: string; upstream: FakeUpstream }[],
): Promise<RunningProxy> {
  const proxy = await startProxy({
    providers: providers.map(({ name, upstream: u }, i) => ({
      name,
      type: 'openai',
      baseUrl: `${u.url}/v1`,
      models: ['gpt-4o-mini'],
      priority: i + 1,
    })),
    routing: { healthCheck: { enabled: false }, retries: { maxAttempts: 1 } },
    cache: { enabled: false, redis: { url: server.url, keyPrefix } },
  });
  running.push(proxy);
  return proxy;
}

/** Waits until `n` replicas listen for cooldowns under `keyPrefix`. */
async function listening(keyPrefix: string, n: number): Promise<void> {
  await eventually(async () => {
    const counts = await direct((r) => r.pubsub('NUMSUB', `${keyPrefix}:v1:cooldowns`));
    expect(counts[1]).toBe(n);
  });
}

const cooldownSeconds = (proxy: RunningProxy, name: string): Promise<number> =>
  proxy.metric('llm_proxy_provider_cooldown_seconds', { provider: name });

describe('rate-limit cooldowns shared across replicas', () => {
  it('after replica A is told 429, replica B sends that provider nothing within the cooldown', async () => {
    const prefix = `cool${++prefixes}`;
    const a = await upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 30 });
    const replicaA = await replica(prefix, [{ name: 'alpha', upstream: a }]);
    const replicaB = await replica(prefix, [{ name: 'alpha', upstream: a }]);
    await listening(prefix, 2);

    const told = await apiError(replicaA.client.chat.completions.create(chatBody('A first')));
    expect(told.status).toBe(503);
    expect(chatRequests(a)).toHaveLength(1);

    // The key lives as long as the cooldown, under the configured prefix.
    const ttl = await direct((r) => r.pttl(`${prefix}:v1:cooldown:alpha`));
    expect(ttl).toBeGreaterThan(20_000);
    expect(ttl).toBeLessThanOrEqual(30_000);

    // Delivery is asynchronous (pub/sub); it takes well under a millisecond here.
    await eventually(async () =>
      expect(await cooldownSeconds(replicaB, 'alpha')).toBeGreaterThan(20),
    );
    for (let i = 0; i < 10; i++) {
      const err = await apiError(replicaB.client.chat.completions.create(chatBody(`B ${i}`)));
      expect(err.status).toBe(503);
      expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(20);
      expect(err.message).toMatch(/alpha: rate limited, cooling down/);
    }
    expect(chatRequests(a)).toHaveLength(1);
    expect(
      await replicaB.metric('llm_proxy_provider_cooldowns_total', {
        provider: 'alpha',
        source: 'shared',
      }),
    ).toBe(1);
  });

  it("replica B serves from the next provider at once while A's cooldown lasts", async () => {
    const prefix = `cool${++prefixes}`;
    const a = await upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 30 });
    const b = await upstream('b');
    const providers = [
      { name: 'alpha', upstream: a },
      { name: 'beta', upstream: b },
    ];
    const replicaA = await replica(prefix, providers);
    const replicaB = await replica(prefix, providers);
    await listening(prefix, 2);

    await replicaA.client.chat.completions.create(chatBody('A first'));
    expect(chatRequests(a)).toHaveLength(1);
    await eventually(async () =>
      expect(await cooldownSeconds(replicaB, 'alpha')).toBeGreaterThan(0),
    );
    for (let i = 0; i < 10; i++) {
      const { response } = await replicaB.client.chat.completions
        .create(chatBody(`B ${i}`))
        .withResponse();
      expect(response.headers.get('x-llm-proxy-provider')).toBe('beta');
    }
    expect(chatRequests(a)).toHaveLength(1);
  });

  it('a replica started during a cooldown learns it from Redis before sending anything', async () => {
    const prefix = `cool${++prefixes}`;
    const a = await upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 30 });
    const replicaA = await replica(prefix, [{ name: 'alpha', upstream: a }]);
    await listening(prefix, 1);
    await apiError(replicaA.client.chat.completions.create(chatBody('A first')));
    expect(chatRequests(a)).toHaveLength(1);

    const late = await replica(prefix, [{ name: 'alpha', upstream: a }]);
    await listening(prefix, 2);
    expect(await cooldownSeconds(late, 'alpha')).toBeGreaterThan(20);
    const err = await apiError(late.client.chat.completions.create(chatBody('late')));
    expect(err.status).toBe(503);
    expect(chatRequests(a)).toHaveLength(1);
  });

  it('shares again once Redis is back: the replicas resubscribe', async () => {
    const prefix = `cool${++prefixes}`;
    const a = await upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 30 });
    const replicaA = await replica(prefix, [{ name: 'alpha', upstream: a }]);
    const replicaB = await replica(prefix, [{ name: 'alpha', upstream: a }]);
    await listening(prefix, 2);
    await server.kill();
    await server.restart();
    await listening(prefix, 2);
    await eventually(async () => expect(await replicaA.metric('llm_proxy_cache_redis_up')).toBe(1));

    await apiError(replicaA.client.chat.completions.create(chatBody('A after restart')));
    await eventually(async () =>
      expect(await cooldownSeconds(replicaB, 'alpha')).toBeGreaterThan(20),
    );
    await apiError(replicaB.client.chat.completions.create(chatBody('B after restart')));
    expect(chatRequests(a)).toHaveLength(1);
  });

  it('with Redis down, each replica still remembers its own 429s and every request is answered', async () => {
    const prefix = `cool${++prefixes}`;
    const a = await upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 30 });
    const b = await upstream('b');
    const proxy = await replica(prefix, [
      { name: 'alpha', upstream: a },
      { name: 'beta', upstream: b },
    ]);
    await listening(prefix, 1);
    await server.kill();
    try {
      for (let i = 0; i < 10; i++) {
        const { response } = await proxy.client.chat.completions
          .create(chatBody(`outage ${i}`))
          .withResponse();
        expect(response.headers.get('x-llm-proxy-provider')).toBe('beta');
      }
      expect(chatRequests(a)).toHaveLength(1);
      expect(await cooldownSeconds(proxy, 'alpha')).toBeGreaterThan(20);
    } finally {
      await server.restart();
    }
  });
});
