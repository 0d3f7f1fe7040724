/**
 * The response cache's byte bound through the proxy (memory tier): an answer larger than
 * cache.maxEntryBytes reaches the client whole and is simply not cached, counted on
 * llm_proxy_cache_skipped_total; a stream stops being captured once past the bound.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const BOUND = 64 * 1024;
let upstream: FakeUpstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'up' });
});
// Many chunks, so a large answer arrives as a long stream (as a model's does), not one event.
beforeEach(() => upstream.set({ streamChunks: 400 }));
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await proxy.stop();
});

const start = (): Promise<RunningProxy> =>
  startProxy({
    providers: [
      { name: 'primary', type: 'openai', baseUrl: `${upstream.url}/v1`, models: ['gpt-4o-mini'] },
    ],
    routing: { healthCheck: { enabled: false } },
    cache: { maxEntryBytes: BOUND },
  });

let prompts = 0;
/** A prompt no earlier test sent; the fake upstream echoes it, so its size is the answer's. */
const prompt = (bytes: number): string => `${++prompts} ${'lorem '.repeat(bytes / 6)}`.trim();

interface Answered {
  /** The answer is the echo of the whole prompt (compared here: a diff would be 100 KB). */
  whole: boolean;
  cache: string | null;
}

async function streamChat(content: string): Promise<Answered> {
  const { data, response } = await proxy.client.chat.completions
    .create({
      model: 'gpt-4o-mini',
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content }],
    })
    .withResponse();
  let text = '';
  for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
  return { whole: text === `echo: ${content}`, cache: response.headers.get('x-llm-proxy-cache') };
}

async function jsonChat(content: string): Promise<Answered> {
  const { data, response } = await proxy.client.chat.completions
    .create({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content }] })
    .withResponse();
  return {
    whole: data.choices[0]?.message.content === `echo: ${content}`,
    cache: response.headers.get('x-llm-proxy-cache'),
  };
}

const tooLarge = (): Promise<number> =>
  proxy.metric('llm_proxy_cache_skipped_total', { cache: 'memory', reason: 'too_large' });
const errorLogs = (): Record<string, unknown>[] =>
  proxy.logs.filter((l) => typeof l.level === 'number' && l.level >= 50);

describe('cache.maxEntryBytes through the proxy', () => {
  it('streams an answer larger than the bound whole, and does not cache it', async () => {
    proxy = await start();
    const content = prompt(2 * BOUND);
    const before = upstream.requests;
    expect(await streamChat(content)).toEqual({ whole: true, cache: 'miss' });
    expect(await streamChat(content)).toEqual({ whole: true, cache: 'miss' });
    expect(upstream.requests - before).toBe(2);
    expect(await tooLarge()).toBe(2);
    expect(await proxy.metric('llm_proxy_cache_entries', { cache: 'response' })).toBe(0);
    expect(errorLogs()).toEqual([]);
  });

  it('answers a JSON answer larger than the bound, and does not cache it', async () => {
    proxy = await start();
    const content = prompt(2 * BOUND);
    expect(await jsonChat(content)).toEqual({ whole: true, cache: 'miss' });
    expect(await jsonChat(content)).toEqual({ whole: true, cache: 'miss' });
    expect(await tooLarge()).toBe(2);
    expect(await proxy.metric('llm_proxy_cache_entries', { cache: 'response' })).toBe(0);
    expect(errorLogs()).toEqual([]);
  });

  it('caches answers within the bound, streamed or not, and counts no skip', async () => {
    proxy = await start();
    // Each chunk carries ~200 bytes of envelope: few chunks, so the stream fits the bound.
    upstream.set({ streamChunks: 20 });
    const streamed = prompt(BOUND / 8);
    const plain = prompt(BOUND / 2);
    await streamChat(streamed);
    await jsonChat(plain);
    expect((await streamChat(streamed)).cache).toBe('hit');
    expect((await jsonChat(plain)).cache).toBe('hit');
    expect(await tooLarge()).toBe(0);
  });
});
