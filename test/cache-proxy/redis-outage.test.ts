/**
 * Redis dying under traffic and coming back, seen through the proxy: every request is still
 * answered, failures are counted, the write-behind queue stays bounded, nothing leaks, and
 * once Redis is back the cache writes to it again.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { responseCacheKey, responseKeys } from '../../src/cache/index.js';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { eventually } from './replicas.js';

const PREFIX = 'outage';
const QUEUE_MAX = 20;
let upstream: FakeUpstream;
let server: RedisServer;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'up' });
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
  await upstream.close();
});

const request = (content: string) => ({
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [{ role: 'user' as const, content }],
});
const entryKey = (content: string): string =>
  responseKeys(PREFIX).entry(responseCacheKey('chat', request(content)));

/** One request; resolves to its HTTP status (the SDK throws on anything but 2xx). */
async function send(content: string): Promise<number> {
  const { response } = await proxy.client.chat.completions.create(request(content)).withResponse();
  return response.status;
}

async function exists(key: string): Promise<boolean> {
  const direct = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    return (await direct.exists(key)) === 1;
  } finally {
    await direct.quit();
  }
}

describe('Redis outage under traffic, through the proxy', () => {
  it('answers every request while Redis is down, and writes to it again once it is back', async () => {
    proxy = await startProxy({
      providers: [
        { name: 'primary', type: 'openai', baseUrl: `${upstream.url}/v1`, models: ['gpt-4o-mini'] },
      ],
      routing: { healthCheck: { enabled: false } },
      cache: { redis: { url: server.url, keyPrefix: PREFIX, writeQueueMax: QUEUE_MAX } },
    });
    await eventually(async () => expect(await proxy.metric('llm_proxy_cache_redis_up')).toBe(1));
    expect(await send('before the outage')).toBe(200);
    await eventually(async () => expect(await exists(entryKey('before the outage'))).toBe(true));

    // Four clients keep sending distinct prompts (each one a miss, then a queued write).
    let sent = 0;
    let stop = false;
    const depths: number[] = [];
    const client = async (): Promise<number[]> => {
      const statuses: number[] = [];
      while (!stop) {
        statuses.push(await send(`during the outage ${sent++}`));
        depths.push(await proxy.metric('llm_proxy_cache_write_queue_depth'));
      }
      return statuses;
    };
    const clients = Array.from({ length: 4 }, client);
    await eventually(() => expect(sent).toBeGreaterThan(20));
    const errorsBefore = await proxy.metric('llm_proxy_cache_redis_errors_total');
    await server.kill();
    await eventually(async () => expect(await proxy.metric('llm_proxy_cache_redis_up')).toBe(0));
    const sentAtKill = sent;
    await vi.waitFor(() => expect(sent).toBeGreaterThan(sentAtKill + 40), { timeout: 5_000 });
    stop = true;
    const statuses = (await Promise.all(clients)).flat();

    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(await proxy.metric('llm_proxy_cache_redis_errors_total')).toBeGreaterThan(errorsBefore);
    expect(Math.max(...depths)).toBeLessThanOrEqual(QUEUE_MAX);
    expect(proxy.app.supervisor.leakedTotal()).toBe(0);

    await server.restart();
    await vi.waitFor(async () => expect(await proxy.metric('llm_proxy_cache_redis_up')).toBe(1), {
      timeout: 5_000,
    });
    expect(await send('after the outage')).toBe(200);
    await eventually(async () => expect(await exists(entryKey('after the outage'))).toBe(true));
    await proxy.stop();
  });
});
