/**
 * Numbers JavaScript cannot hold exactly (issue 14, defect 8). The body goes upstream as the
 * client wrote it, so two requests whose numbers differ only past 2^53 are different requests
 * upstream, and must be different cache entries: the key is built from the numbers' text.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

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

const config = () => ({
  providers: [
    {
      name: 'primary',
      type: 'openai',
      baseUrl: `${upstream.url}/v1`,
      models: ['gpt-4o-mini'],
    },
  ],
  routing: { healthCheck: { enabled: false } },
});

let prompts = 0;

/** A chat body written by hand: JSON.stringify cannot write these seeds. */
async function chatWithSeed(content: string, seed: string) {
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: `{"model":"gpt-4o-mini","temperature":0,"seed":${seed},"messages":[{"role":"user","content":${JSON.stringify(content)}}]}`,
  });
  const answer = (await res.json()) as { id?: string };
  return { status: res.status, cache: res.headers.get('x-llm-proxy-cache'), id: answer.id };
}

describe('cache keys of numbers past 2^53', () => {
  it.each([
    ['9007199254740993', '9007199254740992'],
    ['12345678901234567891', '12345678901234567890'],
  ])('keeps seed %s and seed %s apart: the second is a miss', async (first, second) => {
    proxy = await startProxy(config());
    const content = `seeded #${++prompts}`;
    const a = await chatWithSeed(content, first);
    const before = upstream.requests;
    const b = await chatWithSeed(content, second);
    expect(a).toMatchObject({ status: 200, cache: 'miss' });
    expect(b).toMatchObject({ status: 200, cache: 'miss' });
    expect(b.id).not.toBe(a.id);
    expect(upstream.requests).toBe(before + 1);
    expect(await chatWithSeed(content, first)).toEqual({ ...a, cache: 'hit' });
    expect(await chatWithSeed(content, second)).toEqual({ ...b, cache: 'hit' });
  });
});
