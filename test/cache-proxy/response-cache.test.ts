/**
 * The response cache as a client sees it through the proxy (memory tier): which requests are
 * answered from the cache, the x-llm-proxy-cache header, and answers replayed in either
 * shape (JSON or SSE) whatever shape they were stored in.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

let upstream: FakeUpstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'up', streamChunks: 4 });
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await proxy.stop();
});

const config = (cache: Record<string, unknown> = {}) => ({
  providers: [
    {
      name: 'primary',
      type: 'openai',
      baseUrl: `${upstream.url}/v1`,
      models: ['gpt-4o-mini', 'text-embedding-3-small'],
    },
  ],
  routing: { healthCheck: { enabled: false } },
  cache,
});

let prompts = 0;
/** A prompt no earlier test sent, so entries never carry over. */
const fresh = (text = 'hello cache'): string => `${text} #${++prompts}`;

async function chat(
  body: { content: string; temperature?: number; n?: number },
  headers: Record<string, string> = {},
) {
  const { content, ...rest } = body;
  const { data, response } = await proxy.client.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...rest }, { headers })
    .withResponse();
  return {
    text: data.choices[0]?.message.content,
    cache: response.headers.get('x-llm-proxy-cache'),
    provider: response.headers.get('x-llm-proxy-provider'),
  };
}

async function streamChat(content: string, includeUsage = false) {
  const { data, response } = await proxy.client.chat.completions
    .create({
      model: 'gpt-4o-mini',
      temperature: 0,
      stream: true,
      ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      messages: [{ role: 'user', content }],
    })
    .withResponse();
  let text = '';
  let chunks = 0;
  let usage = false;
  let finish: string | null | undefined;
  for await (const chunk of data) {
    chunks++;
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = true;
  }
  return { text, chunks, usage, finish, cache: response.headers.get('x-llm-proxy-cache') };
}

const chatPosts = (): number =>
  upstream.events.filter((e) => e.kind === 'request' && e.path === '/v1/chat/completions').length;

describe('response cache through the proxy', () => {
  it('answers a temperature 0 chat from the cache the second time, without going upstream', async () => {
    proxy = await startProxy(config());
    const content = fresh();
    const first = await chat({ content, temperature: 0 });
    const before = upstream.requests;
    const second = await chat({ content, temperature: 0 });
    expect(first).toMatchObject({ cache: 'miss', provider: 'primary' });
    expect(second).toEqual({ ...first, cache: 'hit' });
    expect(upstream.requests).toBe(before);
    expect(
      await proxy.metric('llm_proxy_cache_requests_total', { cache: 'memory', result: 'hit' }),
    ).toBe(1);
    expect(
      await proxy.metric('llm_proxy_cache_requests_total', { cache: 'memory', result: 'miss' }),
    ).toBe(1);
  });

  it('bypasses sampled chats (no temperature, or above 0): both go upstream', async () => {
    proxy = await startProxy(config());
    const content = fresh();
    const before = chatPosts();
    expect((await chat({ content })).cache).toBe('bypass');
    expect((await chat({ content })).cache).toBe('bypass');
    expect((await chat({ content, temperature: 0.7 })).cache).toBe('bypass');
    expect(chatPosts() - before).toBe(3);
    expect(await proxy.metric('llm_proxy_cache_requests_total')).toBe(0);
  });

  it.each(['no-cache', 'no-store'])(
    'bypasses on Cache-Control: %s, neither reading nor storing',
    async (directive) => {
      proxy = await startProxy(config());
      const content = fresh();
      await chat({ content, temperature: 0 });
      const bypassed = await chat({ content, temperature: 0 }, { 'cache-control': directive });
      expect(bypassed.cache).toBe('bypass');
      const other = fresh();
      await chat({ content: other, temperature: 0 }, { 'cache-control': directive });
      expect((await chat({ content: other, temperature: 0 })).cache).toBe('miss');
    },
  );

  it('lets a sampled single-choice chat opt in with x-llm-proxy-cache: use', async () => {
    proxy = await startProxy(config());
    const content = fresh();
    const optIn = { 'x-llm-proxy-cache': 'use' };
    expect((await chat({ content, temperature: 0.9 }, optIn)).cache).toBe('miss');
    expect((await chat({ content, temperature: 0.9 }, optIn)).cache).toBe('hit');
    expect((await chat({ content, temperature: 0.9 })).cache).toBe('bypass');
    expect((await chat({ content, temperature: 0.9, n: 2 }, optIn)).cache).toBe('bypass');
  });

  it('caches embeddings (they are deterministic)', async () => {
    proxy = await startProxy(config());
    const input = [fresh('embed me'), 'and me'];
    const call = () =>
      proxy.client.embeddings.create({ model: 'text-embedding-3-small', input }).withResponse();
    const first = await call();
    const before = upstream.requests;
    const second = await call();
    expect(first.response.headers.get('x-llm-proxy-cache')).toBe('miss');
    expect(second.response.headers.get('x-llm-proxy-cache')).toBe('hit');
    expect(second.response.headers.get('x-llm-proxy-provider')).toBe('primary');
    expect(second.data.data).toEqual(first.data.data);
    expect(upstream.requests).toBe(before);
  });

  it('caches a streamed answer once complete and replays it as SSE with the same text', async () => {
    proxy = await startProxy(config());
    const content = fresh('stream me');
    const first = await streamChat(content, true);
    const before = upstream.requests;
    const second = await streamChat(content, true);
    expect(first).toMatchObject({
      cache: 'miss',
      text: `echo: ${content}`,
      finish: 'stop',
      usage: true,
    });
    expect(second).toEqual({ ...first, cache: 'hit' });
    expect(upstream.requests).toBe(before);
  });

  it('replays a stored stream without its usage chunk when usage was not asked for', async () => {
    proxy = await startProxy(config());
    const content = fresh('stream me');
    await streamChat(content, true);
    const replayed = await streamChat(content, false);
    expect(replayed).toMatchObject({ cache: 'hit', text: `echo: ${content}`, usage: false });
  });

  it('replays a cached JSON answer as a stream when the next request streams', async () => {
    proxy = await startProxy(config());
    const content = fresh();
    const json = await chat({ content, temperature: 0 });
    const before = upstream.requests;
    const streamed = await streamChat(content, true);
    expect(streamed).toMatchObject({ cache: 'hit', text: json.text, finish: 'stop', usage: true });
    expect(upstream.requests).toBe(before);
  });

  it('answers a non-streaming request from a cached stream as one completion', async () => {
    proxy = await startProxy(config());
    const content = fresh('stream me');
    const streamed = await streamChat(content, true);
    const before = upstream.requests;
    const json = await chat({ content, temperature: 0 });
    expect(json).toMatchObject({ cache: 'hit', text: streamed.text, provider: 'primary' });
    expect(upstream.requests).toBe(before);
  });

  it('answers from upstream a non-streaming request whose cached stream has no usage', async () => {
    proxy = await startProxy(config());
    const content = fresh('stream me');
    await streamChat(content);
    const before = upstream.requests;
    // A completion always carries usage; a stream streamed without include_usage has none.
    expect((await chat({ content, temperature: 0 })).cache).toBe('miss');
    expect(upstream.requests).toBe(before + 1);
    // The upstream answer replaced the entry.
    expect((await chat({ content, temperature: 0 })).cache).toBe('hit');
  });

  it('answers from upstream a stream asking for usage when the cached stream has none', async () => {
    proxy = await startProxy(config());
    const content = fresh('stream me');
    await streamChat(content);
    const withUsage = await streamChat(content, true);
    expect(withUsage).toMatchObject({ cache: 'miss', usage: true });
    expect(await streamChat(content, true)).toMatchObject({ cache: 'hit', usage: true });
  });

  it('replays a cached tool call in the other shape, arguments intact', async () => {
    proxy = await startProxy(config());
    const tools = [
      { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } },
    ];
    const content = fresh('use the tool');
    const request = {
      model: 'gpt-4o-mini',
      temperature: 0,
      tools,
      messages: [{ role: 'user' as const, content }],
    };
    const fromStream = await proxy.client.chat.completions
      .stream({ ...request, stream_options: { include_usage: true } })
      .finalChatCompletion();
    const before = upstream.requests;
    const { data: json, response } = await proxy.client.chat.completions
      .create(request)
      .withResponse();
    expect(response.headers.get('x-llm-proxy-cache')).toBe('hit');
    expect(json.choices[0]?.finish_reason).toBe('tool_calls');
    expect(json.choices[0]?.message.tool_calls).toEqual(fromStream.choices[0]?.message.tool_calls);
    expect(json.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      id: 'call_1',
      function: { name: 'lookup', arguments: '{"q":"x"}' },
    });

    const other = {
      ...request,
      messages: [{ role: 'user' as const, content: fresh('use the tool') }],
    };
    const first = await proxy.client.chat.completions.create(other);
    const replayed = await proxy.client.chat.completions.stream(other).finalChatCompletion();
    expect(replayed.choices[0]?.message.tool_calls).toEqual(first.choices[0]?.message.tool_calls);
    expect(replayed.choices[0]?.finish_reason).toBe('tool_calls');
    expect(upstream.requests).toBe(before + 1);
  });

  it('expires entries after ttlSeconds', async () => {
    proxy = await startProxy(config({ ttlSeconds: 1 }));
    const content = fresh();
    await chat({ content, temperature: 0 });
    expect((await chat({ content, temperature: 0 })).cache).toBe('hit');
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await chat({ content, temperature: 0 })).cache).toBe('miss');
  });

  it('says bypass on every answer when the cache is disabled', async () => {
    proxy = await startProxy(config({ enabled: false }));
    const content = fresh();
    expect((await chat({ content, temperature: 0 })).cache).toBe('bypass');
    expect((await chat({ content, temperature: 0 })).cache).toBe('bypass');
  });
});
