/**
 * Summaries are shared across replicas through Redis: a conversation one replica condensed
 * is condensed by another from the stored summary, without asking the summariser again.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { eventually, stopReplicas } from '../cache-proxy/replicas.js';
import { startSummarizerServer, type SummarizerServer } from '../condense/summarizer-server.js';
import { startProxy } from '../support/proxy.js';
import { freePort } from '../support/ports.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const SENTENCE = 'The night train from Lyon reaches Paris before breakfast and costs forty euros. ';
const CONVERSATION = [
  { role: 'system' as const, content: 'You are a travel assistant.' },
  ...['one', 'two', 'three'].flatMap((day) => [
    { role: 'user' as const, content: `day ${day}: ${SENTENCE.repeat(5)}` },
    { role: 'assistant' as const, content: `reply ${day}: ${SENTENCE.repeat(5)}` },
  ]),
  { role: 'user' as const, content: 'Which train should I take?' },
];

let upstream: FakeUpstream;
let summariser: SummarizerServer;
let server: RedisServer;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'answerer' });
  summariser = await startSummarizerServer();
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
  await summariser.close();
  await upstream.close();
});

const config = (redisUrl = server.url) => ({
  providers: [
    { name: 'answerer', type: 'openai', baseUrl: `${upstream.url}/v1`, models: ['gpt-4o-mini'] },
    {
      name: 'summariser',
      type: 'openai',
      baseUrl: summariser.baseUrl,
      models: ['summarizer-mini'],
    },
  ],
  routing: { healthCheck: { enabled: false } },
  cache: { redis: { url: redisUrl, keyPrefix: 'sums' } },
  condense: {
    summarizerModel: 'summarizer-mini',
    keepRecent: 1,
    models: { 'gpt-4o-mini': { maxTokens: 300 } },
  },
});

describe('summaries shared across replicas', () => {
  it('lets a replica condense from the summary another replica stored in Redis', async () => {
    const a = await startProxy(config());
    const b = await startProxy(config());
    const replicas = [a, b];
    try {
      // Summaries made before Redis connects stay in that replica's memory only.
      for (const p of replicas) {
        await eventually(async () => expect(await p.metric('llm_proxy_cache_redis_up')).toBe(1));
      }
      const first = await a.client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: CONVERSATION })
        .withResponse();
      expect(first.response.headers.get('x-llm-proxy-condensed')).toBe('true');
      await eventually(async () =>
        expect(
          await a.metric('llm_proxy_tasks_finished_total', {
            owner: 'condenser_cache',
            task: 'persist',
            outcome: 'completed',
          }),
        ).toBe(1),
      );
      const direct = new Redis(server.url);
      try {
        const stored = await direct.keys('sums:v1:sum:*');
        expect(stored).toHaveLength(1);
        expect(await direct.get(stored[0]!)).toBe(summariser.summary);
        expect(await direct.ttl(stored[0]!)).toBeGreaterThan(0);
      } finally {
        await direct.quit();
      }

      const second = await b.client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: CONVERSATION })
        .withResponse();
      expect(second.response.headers.get('x-llm-proxy-condensed')).toBe('true');
      expect(summariser.requests).toHaveLength(1);
      expect(await b.metric('llm_proxy_condense_total', { result: 'cache_hit' })).toBe(1);
      expect(
        await b.metric('llm_proxy_cache_requests_total', { cache: 'condenser', result: 'hit' }),
      ).toBe(1);
      const sent = (upstream.lastRequest()?.body as { messages: { content: string }[] }).messages;
      expect(sent[1]?.content).toContain(summariser.summary);
    } finally {
      await stopReplicas(replicas);
    }
  });

  it('asks the summariser once when two replicas get the same new conversation at once', async () => {
    const a = await startProxy(config());
    const b = await startProxy(config());
    const replicas = [a, b];
    const conversation = CONVERSATION.map((m, i) =>
      i === 1 ? { ...m, content: `${m.content} (asked twice at once)` } : m,
    );
    try {
      for (const p of replicas) {
        await eventually(async () => expect(await p.metric('llm_proxy_cache_redis_up')).toBe(1));
      }
      const asked = summariser.requests.length;
      summariser.delayMs = 300;
      const first = a.client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: conversation })
        .withResponse();
      await eventually(async () => expect(summariser.requests.length).toBe(asked + 1));
      // A client retrying on the other replica while the first is still summarising.
      const second = b.client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: conversation })
        .withResponse();
      const answers = await Promise.all([first, second]);
      for (const r of answers) expect(r.response.headers.get('x-llm-proxy-condensed')).toBe('true');
      expect(summariser.requests.length - asked).toBe(1);
      expect(await a.metric('llm_proxy_condense_total', { result: 'condensed' })).toBe(1);
      expect(await b.metric('llm_proxy_condense_total', { result: 'cache_hit' })).toBe(1);
    } finally {
      summariser.delayMs = 0;
      await stopReplicas(replicas);
    }
  });

  it('still condenses while Redis is down: the summary stays in memory, one outage warning, no error lines', async () => {
    const proxy = await startProxy(config(`redis://127.0.0.1:${await freePort()}`));
    try {
      const asked = summariser.requests.length;
      for (let i = 0; i < 2; i++) {
        const res = await proxy.client.chat.completions
          .create({ model: 'gpt-4o-mini', messages: CONVERSATION })
          .withResponse();
        expect(res.response.headers.get('x-llm-proxy-condensed')).toBe('true');
      }
      expect(summariser.requests.length - asked).toBe(1);
      await eventually(async () =>
        expect(
          await proxy.metric('llm_proxy_tasks_finished_total', {
            owner: 'condenser_cache',
            task: 'persist',
          }),
        ).toBe(1),
      );
      expect(await proxy.metric('llm_proxy_cache_redis_errors_total', { op: 'set' })).toBe(1);
      expect(proxy.logs.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });
});
