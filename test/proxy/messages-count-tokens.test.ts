/**
 * POST /v1/messages/count_tokens through the Anthropic SDK's countTokens: passed through to
 * the upstream's /v1/messages/count_tokens when one of the model's providers speaks the
 * Messages API natively (even when it is not the model's first provider), and counted by
 * the proxy's tokenizer over the request translated to chat when none does.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { AuthenticationError, BadRequestError, NotFoundError } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';
import { NATIVE, TRANSLATED, messagesConfig, sdk } from './messages-support.js';

/** Served by both providers, the openai one first. */
const BOTH = 'served-by-both';

let ant: FakeUpstream;
let oai: FakeUpstream;
let proxy: RunningProxy;
let client: Anthropic;
const sent: string[] = [];
const sentHeaders: Record<string, string>[] = [];

beforeAll(async () => {
  ant = await startFakeUpstream({ name: 'ant', apiKey: 'sk-upstream-secret' });
  oai = await startFakeUpstream({ name: 'oai', apiKey: 'sk-upstream-secret' });
  const config = messagesConfig(ant, oai);
  const [claude, gpt] = config.providers as Record<string, unknown>[];
  claude!.models = [NATIVE, BOTH];
  claude!.priority = 2;
  gpt!.models = [TRANSLATED, BOTH];
  gpt!.priority = 1;
  proxy = await startProxy(config);
  client = sdk(proxy.url, sent, sentHeaders);
});
afterAll(async () => {
  await proxy.stop();
  await ant.close();
  await oai.close();
});

const WEATHER: Anthropic.Tool = {
  name: 'get_weather',
  input_schema: { type: 'object', properties: { city: { type: 'string' } } },
};

describe('POST /v1/messages/count_tokens', () => {
  it("passes the body through to an anthropic provider's count_tokens", async () => {
    const before = sent.length;
    const count = await client.messages.countTokens(
      {
        model: NATIVE,
        system: 'be brief',
        tools: [WEATHER],
        messages: [{ role: 'user', content: 'how many tokens is this' }],
      },
      { headers: { 'anthropic-beta': 'token-counting-2024-11-01' } },
    );
    const received = ant.lastRequest()!;
    expect(received.path).toBe('/v1/messages/count_tokens');
    expect(received.text).toBe(sent[before]);
    expect(received.headers['anthropic-beta']).toBe('token-counting-2024-11-01');
    // The fake counts words: 2 of system, 5 of the message, 1 of the tools' JSON.
    expect(count).toEqual({ input_tokens: 8 });
  });

  it('counts natively when a provider that speaks Messages serves the model, not the first', async () => {
    const [antBefore, oaiBefore] = [ant.requests, oai.requests];
    const count = await client.messages.countTokens({
      model: BOTH,
      messages: [{ role: 'user', content: 'one two three' }],
    });
    expect(count).toEqual({ input_tokens: 3 });
    expect(ant.requests).toBe(antBefore + 1);
    expect(oai.requests).toBe(oaiBefore);
  });

  it("counts with the proxy's tokenizer when no provider of the model speaks Messages", async () => {
    const before = oai.requests;
    // OpenAI's accounting: 3 to prime the reply, 3 per message, 'user' and 'hello' 1 each.
    expect(
      await client.messages.countTokens({
        model: TRANSLATED,
        messages: [{ role: 'user', content: 'hello' }],
      }),
    ).toEqual({ input_tokens: 8 });
    const withSystemAndTools = await client.messages.countTokens({
      model: TRANSLATED,
      system: 'be brief',
      tools: [WEATHER],
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(withSystemAndTools.input_tokens).toBeGreaterThan(8 + 10);
    expect(oai.requests).toBe(before);
  });

  it('refuses with a 400 naming the field what the translation cannot carry', async () => {
    const err = await client.messages
      .countTokens({
        model: TRANSLATED,
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        messages: [{ role: 'user', content: 'search' }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toContain('tools.0.type');
  });

  it('is a NotFoundError for an unknown model, a BadRequestError naming a missing field', async () => {
    await expect(
      client.messages.countTokens({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const err = await client.messages
      .countTokens({ model: NATIVE } as unknown as Anthropic.MessageCountTokensParams)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toContain('messages: Field required');
  });

  it('is an AuthenticationError for a wrong key', async () => {
    const wrong = sdk(proxy.url, [], [], 'sk-wrong');
    await expect(
      wrong.messages.countTokens({ model: NATIVE, messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('counts requests under the route label /v1/messages/count_tokens', async () => {
    const labels = { route: '/v1/messages/count_tokens', status: '200' };
    const before = await proxy.metric('llm_proxy_http_requests_total', labels);
    await client.messages.countTokens({
      model: TRANSLATED,
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(await proxy.metric('llm_proxy_http_requests_total', labels)).toBe(before + 1);
  });
});
