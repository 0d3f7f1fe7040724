/**
 * The Redis tier through the proxy: replicas sharing one real Redis serve each other's
 * answers, drain flushes the write-behind queue, and a replica starting late warms its
 * memory tier from what the others wrote.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAnswer, responseCacheKey, responseKeys } from '../../src/cache/index.js';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { eventually, stopReplicas } from './replicas.js';

const ADMIN = 'admin-token-for-tests';
let upstream: FakeUpstream;
let server: RedisServer;
let direct: Redis;
let running: RunningProxy[] = [];
let prefixes = 0;

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

const config = (keyPrefix: string, redis: Record<string, unknown> = {}) => ({
  auth: { adminToken: ADMIN },
  providers: [
    { name: 'primary', type: 'openai', baseUrl: `${upstream.url}/v1`, models: ['gpt-4o-mini'] },
  ],
  routing: { healthCheck: { enabled: false } },
  cache: { redis: { url: server.url, keyPrefix, ...redis } },
});

async function replica(
  keyPrefix: string,
  redis: Record<string, unknown> = {},
): Promise<RunningProxy> {
  const p = await startProxy(config(keyPrefix, redis));
  running.push(p);
  await eventually(async () => expect(await p.metric('llm_proxy_cache_redis_up')).toBe(1));
  return p;
}

const request = (content: string) => ({
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [{ role: 'user' as const, content }],
});

async function ask(
  p: RunningProxy,
  content: string,
): Promise<{ text: string; cache: string | null }> {
  const { data, response } = await p.client.chat.completions
    .create(request(content))
    .withResponse();
  return {
    text: data.choices[0]?.message.content ?? '',
    cache: response.headers.get('x-llm-proxy-cache'),
  };
}

/** Where the answer to `content` lives in Redis. */
const entryKey = (prefix: string, content: string): string =>
  responseKeys(prefix).entry(responseCacheKey('chat', request(content)));

const newPrefix = (): string => `tier${++prefixes}`;

describe('Redis tier through the proxy', () => {
  it('lets a replica answer from what another replica cached (a Redis hit)', async () => {
    const prefix = newPrefix();
    const a = await replica(prefix);
    const b = await replica(prefix);
    const first = await ask(a, 'shared question');
    await eventually(async () =>
      expect(await direct.exists(entryKey(prefix, 'shared question'))).toBe(1),
    );
    const before = upstream.requests;

    expect(await ask(b, 'shared question')).toEqual({ ...first, cache: 'hit' });
    expect(upstream.requests).toBe(before);
    expect(
      await b.metric('llm_proxy_cache_requests_total', { cache: 'redis', result: 'hit' }),
    ).toBe(1);
    // Promoted to B's memory: the next lookup needs no Redis round trip.
    expect((await ask(b, 'shared question')).cache).toBe('hit');
    expect(
      await b.metric('llm_proxy_cache_requests_total', { cache: 'memory', result: 'hit' }),
    ).toBe(1);
    expect(
      await b.metric('llm_proxy_cache_requests_total', { cache: 'redis', result: 'hit' }),
    ).toBe(1);
  });

  it('writes every pending answer to Redis on drain: nothing accepted is lost', async () => {
    const prefix = newPrefix();
    const a = await replica(prefix);
    // A slow upstream keeps the requests in flight when the drain starts: their answers are
    // cached (and queued for Redis) while the drain waits for them, just before it flushes.
    // NOTE: 2 s, not less: on a loaded 2-core machine the 40 requests took over 400 ms to
    // all reach the upstream, and the first ones had answered before the drain began.
    upstream.set({ latencyMs: 2_000 });
    const before = upstream.requests;
    const questions = Array.from({ length: 40 }, (_, i) => `drain question ${i}`);
    const answered = Promise.all(questions.map((q) => ask(a, q)));
    try {
      await vi.waitFor(() => expect(upstream.requests - before).toBe(questions.length), {
        timeout: 5_000,
        interval: 5,
      });
    } finally {
      upstream.set({ latencyMs: 0 });
    }

    const res = await fetch(`${a.url}/admin/drain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(res.status).toBe(200);
    const summary = (await res.json()) as {
      inFlightAtStart: number;
      cacheWrites: { written: number; pending: number };
      leakedTotal: number;
    };
    expect((await answered).map((r) => r.cache)).toEqual(questions.map(() => 'miss'));
    // NOTE: counts every live task under the http scope (requests and their attempts).
    expect(summary.inFlightAtStart).toBeGreaterThanOrEqual(questions.length);
    expect(summary.cacheWrites.written).toBeGreaterThan(0);
    expect(summary.cacheWrites.pending).toBe(0);
    expect(summary.leakedTotal).toBe(0);

    const stored = await direct.mget(questions.map((q) => entryKey(prefix, q)));
    expect(stored.filter((v) => v === null)).toEqual([]);
    for (const [i, text] of stored.entries()) {
      const body = parseAnswer(text ?? '')?.body ?? '{}';
      expect(JSON.parse(body)).toMatchObject({
        choices: [{ message: { content: `echo: ${questions[i]}` } }],
      });
    }
    expect(await direct.zcard(responseKeys(prefix).hot)).toBe(questions.length);
  });

  it('warms a replica that starts later with the hottest answers: memory hits, no Redis lookups', async () => {
    const prefix = newPrefix();
    const a = await replica(prefix);
    const questions = ['warm one', 'warm two', 'warm three'];
    for (const q of questions) await ask(a, q);
    await eventually(async () => expect(await direct.zcard(responseKeys(prefix).hot)).toBe(3));
    await eventually(async () =>
      expect(await direct.exists(...questions.map((q) => entryKey(prefix, q)))).toBe(3),
    );

    const b = await replica(prefix);
    await eventually(async () =>
      expect(
        await b.metric('llm_proxy_tasks_finished_total', {
          owner: 'unified_cache',
          task: 'warm',
          outcome: 'completed',
        }),
      ).toBe(1),
    );
    expect(await b.metric('llm_proxy_cache_entries', { cache: 'response' })).toBe(3);
    const before = upstream.requests;
    for (const q of questions) expect((await ask(b, q)).cache).toBe('hit');
    expect(upstream.requests).toBe(before);
    expect(
      await b.metric('llm_proxy_cache_requests_total', { cache: 'memory', result: 'hit' }),
    ).toBe(3);
    expect(await b.metric('llm_proxy_cache_requests_total', { cache: 'redis' })).toBe(0);
  });
});
