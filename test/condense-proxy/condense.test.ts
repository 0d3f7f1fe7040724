/**
 * Condensation end to end: a conversation over its model's budget goes to the answering
 * provider as system prompt + summary + recent turns, the summary comes from a summariser
 * model served through the proxy's own providers, and failures degrade as configured.
 *
 * The summariser is the small OpenAI-compatible server from test/condense: it answers a
 * fixed, short summary. (The fake upstream echoes its prompt, so its "summary" would be
 * longer than the transcript it summarises and nothing would ever fit the budget.)
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SUMMARY_PREFIX } from '../../src/condense/index.js';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startSummarizerServer, type SummarizerServer } from '../condense/summarizer-server.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

type Message = { role: 'system' | 'user' | 'assistant'; content: string };

const SENTENCE = 'The night train from Lyon reaches Paris before breakfast and costs forty euros. ';
const para = (label: string, sentences = 5): string => `${label}: ${SENTENCE.repeat(sentences)}`;

const SYSTEM: Message = { role: 'system', content: 'You are a travel assistant.' };
const OLDER: Message[] = [
  { role: 'user', content: para('day one') },
  { role: 'assistant', content: para('reply one') },
  { role: 'user', content: para('day two') },
  { role: 'assistant', content: para('reply two') },
  { role: 'user', content: para('day three') },
  { role: 'assistant', content: para('reply three') },
];
const RECENT: Message[] = [
  { role: 'assistant', content: 'Anything else about the trip?' },
  { role: 'user', content: 'Which train should I take?' },
];
const CONVERSATION: Message[] = [SYSTEM, ...OLDER, ...RECENT];

let upstream: FakeUpstream;
let summariser: SummarizerServer;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'answerer' });
  summariser = await startSummarizerServer();
});
afterAll(async () => {
  await summariser.close();
  await upstream.close();
});
beforeEach(() => {
  summariser.mode = 'ok';
  summariser.requests.length = 0;
});
afterEach(async () => {
  await proxy.stop();
});

const config = (onFailure: 'truncate' | 'error' = 'truncate') => ({
  providers: [
    {
      name: 'answerer',
      type: 'openai',
      baseUrl: `${upstream.url}/v1`,
      models: ['gpt-4o-mini', 'plain-model'],
    },
    {
      name: 'summariser',
      type: 'openai',
      baseUrl: summariser.baseUrl,
      models: ['summarizer-mini'],
    },
  ],
  routing: { healthCheck: { enabled: false }, retries: { maxAttempts: 1 } },
  condense: {
    summarizerModel: 'summarizer-mini',
    keepRecent: 2,
    models: { 'gpt-4o-mini': { maxTokens: 300, onFailure } },
  },
});

async function send(model: string, messages: Message[]) {
  const { data, response } = await proxy.client.chat.completions
    .create({ model, messages })
    .withResponse();
  const upstreamBody = upstream.lastRequest()?.body as { messages: Message[] };
  return {
    text: data.choices[0]?.message.content,
    condensed: response.headers.get('x-llm-proxy-condensed'),
    truncated: response.headers.get('x-llm-proxy-truncated'),
    sent: upstreamBody.messages,
  };
}

describe('condensation through the proxy', () => {
  it('sends the answering provider the system prompt, a summary and the recent turns', async () => {
    proxy = await startProxy(config());
    const res = await send('gpt-4o-mini', CONVERSATION);
    expect(res.condensed).toBe('true');
    expect(res.truncated).toBeNull();
    expect(res.sent).toEqual([
      SYSTEM,
      { role: 'system', content: `${SUMMARY_PREFIX}${summariser.summary}` },
      ...RECENT,
    ]);
    expect(res.text).toBe('echo: Which train should I take?');
    expect(summariser.requests).toHaveLength(1);
    expect(summariser.requests[0]?.model).toBe('summarizer-mini');
    expect(JSON.stringify(summariser.requests[0]?.messages)).toContain('day one');
    expect(JSON.stringify(summariser.requests[0]?.messages)).not.toContain('Which train');
    expect(await proxy.metric('llm_proxy_condense_total', { result: 'condensed' })).toBe(1);
    expect(
      await proxy.metric('llm_proxy_upstream_requests_total', {
        provider: 'summariser',
        outcome: 'ok',
      }),
    ).toBe(1);
  });

  it('reuses the cached summary for the same conversation: the summariser is not asked again', async () => {
    proxy = await startProxy(config());
    const first = await send('gpt-4o-mini', CONVERSATION);
    const second = await send('gpt-4o-mini', CONVERSATION);
    expect(second).toEqual(first);
    expect(summariser.requests).toHaveLength(1);
    expect(await proxy.metric('llm_proxy_condense_total', { result: 'cache_hit' })).toBe(1);
    expect(
      await proxy.metric('llm_proxy_cache_requests_total', { cache: 'condenser', result: 'hit' }),
    ).toBe(1);
  });

  it('drops the oldest turns when summarising fails and onFailure is truncate', async () => {
    proxy = await startProxy(config('truncate'));
    summariser.mode = 'fail';
    const res = await send('gpt-4o-mini', CONVERSATION);
    expect(res.text).toBe('echo: Which train should I take?');
    expect(res.condensed).toBeNull();
    const dropped = Number(res.truncated);
    expect(dropped).toBeGreaterThan(0);
    expect(res.sent).toEqual([SYSTEM, ...CONVERSATION.slice(1 + dropped)]);
    expect(res.sent.slice(-RECENT.length)).toEqual(RECENT);
    expect(summariser.requests).toHaveLength(1);
    expect(await proxy.metric('llm_proxy_condense_total', { result: 'truncated' })).toBe(1);
  });

  it('answers 400 context_length_exceeded in OpenAI shape when summarising fails and onFailure is error', async () => {
    proxy = await startProxy(config('error'));
    summariser.mode = 'fail';
    const before = upstream.requests;
    const res = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: CONVERSATION }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'context_length_exceeded',
      param: 'messages',
    });
    expect(upstream.requests).toBe(before);
    const viaSdk = await proxy.client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: CONVERSATION })
      .catch((err: unknown) => err);
    expect(viaSdk).toBeInstanceOf(OpenAI.BadRequestError);
    expect((viaSdk as InstanceType<typeof OpenAI.BadRequestError>).code).toBe(
      'context_length_exceeded',
    );
    expect(await proxy.metric('llm_proxy_condense_total', { result: 'rejected' })).toBe(2);
  });

  it('answers 400 when even the system prompt and the latest turn exceed the budget', async () => {
    proxy = await startProxy(config('truncate'));
    const before = upstream.requests;
    const huge: Message[] = [SYSTEM, { role: 'user', content: para('too long', 40) }];
    const err = await proxy.client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: huge })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe(
      'context_length_exceeded',
    );
    expect(summariser.requests).toHaveLength(0);
    expect(upstream.requests).toBe(before);
  });

  it('never touches a model that is not configured for condensation', async () => {
    proxy = await startProxy(config());
    const res = await send('plain-model', CONVERSATION);
    expect(res.sent).toEqual(CONVERSATION);
    expect(res.condensed).toBeNull();
    expect(res.truncated).toBeNull();
    expect(summariser.requests).toHaveLength(0);
    expect(await proxy.metric('llm_proxy_condense_total')).toBe(0);
  });

  it('leaves a conversation under budget as it is', async () => {
    proxy = await startProxy(config());
    const short: Message[] = [SYSTEM, ...RECENT];
    const res = await send('gpt-4o-mini', short);
    expect(res.sent).toEqual(short);
    expect(res.condensed).toBeNull();
    expect(summariser.requests).toHaveLength(0);
  });
});
