/**
 * The Redis tier's byte bound through the proxy, against a real redis-server: an answer
 * larger than cache.redis.maxEntryBytes stays in the memory of the replica that fetched it
 * and never reaches Redis (no value, no hot-set member), while a small one does.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { responseCacheKey, responseKeys } from '../../src/cache/index.js';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { eventually, stopReplicas } from './replicas.js';

const REDIS_BOUND = 16 * 1024;
const PREFIX = 'bounds';
let upstream: FakeUpstream;
let server: RedisServer;
let direct: Redis;
let running: RunningProxy[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'up' });
  server = await startRedis();
  direct = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await direct.quit();
  await server.stop();
  await upstream.close();
});
afterEach(async () => {
  const replicas = running;
  running = [];
  await stopReplicas(replicas);
});

async function replica(): Promise<RunningProxy> {
  const p = await startProxy({
    providers: [
      { name: 'primary', type: 'openai', baseUrl: `${upstream.url}/v1`, models: ['gpt-4o-mini'] },
    ],
    routing: { healthCheck: { enabled: false } },
    cache: {
      maxEntryBytes: 16 * REDIS_BOUND,
      redis: { url: server.url, keyPrefix: PREFIX, maxEntryBytes: REDIS_BOUND },
    },
  });
  running.push(p);
  await eventually(async () => expect(await p.metric('llm_proxy_cache_redis_up')).toBe(1));
  return p;
}

const request = (content: string) => ({
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [{ role: 'user' as const, content }],
});

async function ask(p: RunningProxy, content: string): Promise<string | null> {
  const { data, response } = await p.client.chat.completions
    .create(request(content))
    .withResponse();
  expect(data.choices[0]?.message.content).toBe(`echo: ${content}`);
  return response.headers.get('x-llm-proxy-cache');
}

const keyOf = (content: string): string => responseCacheKey('chat', request(content));
const entryKey = (content: string): string => responseKeys(PREFIX).entry(keyOf(content));

describe('cache.redis.maxEntryBytes through the proxy', () => {
  it('keeps an answer over the Redis bound in memory only; a small one reaches Redis', async () => {
    const a = await replica();
    const big = `big ${'lorem '.repeat((2 * REDIS_BOUND) / 6)}`.trim();
    const small = 'small question';
    expect(await ask(a, big)).toBe('miss');
    expect(await ask(a, small)).toBe('miss');
    // Written in order by one writer: once the small one is in Redis, the big one had its turn.
    await eventually(async () => expect(await direct.exists(entryKey(small))).toBe(1));
    expect(await direct.strlen(entryKey(small))).toBeLessThan(REDIS_BOUND);
    expect(await direct.exists(entryKey(big))).toBe(0);

    // Still answered from this replica's memory, and the hit does not put it in the hot set.
    expect(await ask(a, big)).toBe('hit');
    const { written } = await a.app.cache!.flush(2_000);
    expect(written).toBe(0);
    expect(await direct.exists(entryKey(big))).toBe(0);
    expect(await direct.zscore(responseKeys(PREFIX).hot, keyOf(big))).toBeNull();
    expect(await direct.zscore(responseKeys(PREFIX).hot, keyOf(small))).not.toBeNull();
    expect(
      await a.metric('llm_proxy_cache_skipped_total', { cache: 'redis', reason: 'too_large' }),
    ).toBe(1);
    expect(await a.metric('llm_proxy_cache_skipped_total', { cache: 'memory' })).toBe(0);

    // Another replica finds nothing in Redis and asks upstream, as it would without Redis.
    const b = await replica();
    const before = upstream.requests;
    expect(await ask(b, big)).toBe('miss');
    expect(upstream.requests).toBe(before + 1);
    expect(await ask(b, small)).toBe('hit');
  });
});
