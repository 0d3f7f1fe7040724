/**
 * Whose entries a client key sees (issue 14, defect 7). A hit is visible in
 * `x-llm-proxy-cache`, so a cache shared by every key would tell any key whether another sent
 * a prompt. By default each key has its own entries; `cache.scope: shared` shares them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const KEY_A = 'sk-proxy-scope-test-key-a';
const KEY_B = 'sk-proxy-scope-test-key-b';

let upstream: FakeUpstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'up' });
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await proxy.stop();
});

const config = (cache: Record<string, unknown> = {}) => ({
  auth: { apiKeys: [KEY_A, KEY_B] },
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
const fresh = (): string => `who asked this? #${++prompts}`;

async function post(path: string, key: string, body: unknown) {
  const res = await fetch(`${proxy.url}/v1/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { id?: string };
  return { status: res.status, cache: res.headers.get('x-llm-proxy-cache'), id: answer.id };
}

const chat = (key: string, content: string) =>
  post('chat/completions', key, {
    model: 'gpt-4o-mini',
    temperature: 0,
    messages: [{ role: 'user', content }],
  });

describe('response cache scope', () => {
  it("answers another key's identical chat from upstream, with its own answer, by default", async () => {
    proxy = await startProxy(config());
    const content = fresh();
    const a = await chat(KEY_A, content);
    const before = upstream.requests;
    const b = await chat(KEY_B, content);
    expect(a).toMatchObject({ status: 200, cache: 'miss' });
    expect(b).toMatchObject({ status: 200, cache: 'miss' });
    expect(b.id).not.toBe(a.id);
    expect(upstream.requests).toBe(before + 1);
    // Each key still has its own entry.
    expect(await chat(KEY_A, content)).toEqual({ ...a, cache: 'hit' });
    expect(await chat(KEY_B, content)).toEqual({ ...b, cache: 'hit' });
  });

  it('keeps embeddings apart per key too', async () => {
    proxy = await startProxy(config());
    const body = { model: 'text-embedding-3-small', input: fresh() };
    expect((await post('embeddings', KEY_A, body)).cache).toBe('miss');
    expect((await post('embeddings', KEY_B, body)).cache).toBe('miss');
    expect((await post('embeddings', KEY_B, body)).cache).toBe('hit');
  });

  it('shares entries across keys with cache.scope: shared', async () => {
    proxy = await startProxy(config({ scope: 'shared' }));
    const content = fresh();
    const a = await chat(KEY_A, content);
    const before = upstream.requests;
    const b = await chat(KEY_B, content);
    expect(a.cache).toBe('miss');
    expect(b).toEqual({ ...a, cache: 'hit' });
    expect(upstream.requests).toBe(before);
  });
});
