import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

let upstream: FakeUpstream;
let anthropic: FakeUpstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'oai', apiKey: 'sk-upstream-secret' });
  anthropic = await startFakeUpstream({ name: 'ant', apiKey: 'sk-ant-secret' });
});
afterAll(async () => {
  await upstream.close();
  await anthropic.close();
});
afterEach(async () => {
  await proxy.stop();
});

const config = () => ({
  auth: { apiKeys: ['proxy-key-1'], adminToken: 'admin-secret' },
  server: { port: 0, bodyLimitBytes: 64 * 1024 },
  providers: [
    {
      name: 'openai_fake',
      type: 'openai',
      baseUrl: `${upstream.url}/v1`,
      apiKey: 'sk-upstream-secret',
      models: ['gpt-4o-mini', 'text-embedding-3-small'],
    },
    {
      name: 'claude',
      type: 'anthropic',
      baseUrl: `${anthropic.url}/v1`,
      apiKey: 'sk-ant-secret',
      models: ['claude-3-5-haiku-latest'],
    },
  ],
  routing: { healthCheck: { enabled: false } },
});

describe('OpenAI-compatible API through the official SDK', () => {
  it('lists the models every enabled provider serves', async () => {
    proxy = await startProxy(config());
    const models = await proxy.client.models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual([
      'claude-3-5-haiku-latest',
      'gpt-4o-mini',
      'text-embedding-3-small',
    ]);
  });

  it('retrieves one served model, slashes in its id included, and 404s the rest', async () => {
    proxy = await startProxy({
      ...config(),
      providers: [{ ...config().providers[0]!, models: ['gpt-4o-mini', 'org/model-7b'] }],
    });
    const one = await proxy.client.models.retrieve('org/model-7b');
    expect(one).toMatchObject({ id: 'org/model-7b', object: 'model', owned_by: 'llm-proxy' });
    const listed = await proxy.client.models.list();
    expect(listed.data.find((m) => m.id === 'org/model-7b')).toEqual(one);
    const raw = await fetch(`${proxy.url}/v1/models/org/model-7b`, {
      headers: { authorization: 'Bearer proxy-key-1' },
    });
    expect(await raw.json()).toEqual(one);
    await expect(proxy.client.models.retrieve('no-such-model')).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    expect(await proxy.metric('llm_proxy_http_requests_total', { route: '/v1/models' })).toBe(4);
  });

  it('answers a chat completion from the provider and names it in x-llm-proxy-provider', async () => {
    proxy = await startProxy(config());
    const { data, response } = await proxy.client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: hello there');
    expect(response.headers.get('x-llm-proxy-provider')).toBe('openai_fake');
    expect(upstream.lastRequest()?.headers.authorization).toBe('Bearer sk-upstream-secret');
    expect(
      await proxy.metric('llm_proxy_http_requests_total', {
        route: '/v1/chat/completions',
        status: '200',
      }),
    ).toBe(1);
    expect(
      await proxy.metric('llm_proxy_upstream_requests_total', {
        provider: 'openai_fake',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      await proxy.metric('llm_proxy_tokens_total', { provider: 'openai_fake', direction: 'input' }),
    ).toBeGreaterThan(0);
    expect(
      await proxy.metric('llm_proxy_tasks_finished_total', { owner: 'http', outcome: 'completed' }),
    ).toBe(1);
    expect(
      await proxy.metric('llm_proxy_tasks_finished_total', {
        owner: 'fallback_engine',
        outcome: 'completed',
      }),
    ).toBe(1);
  });

  it('streams SSE chunks as they come and ends with [DONE]', async () => {
    proxy = await startProxy(config());
    const stream = await proxy.client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream me please' }],
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('echo: stream me please');
    expect(usage?.total_tokens).toBeGreaterThan(0);
    expect(
      await proxy.metric('llm_proxy_upstream_ttft_seconds_count', { provider: 'openai_fake' }),
    ).toBe(1);
  });

  it('translates to and from Anthropic, streaming included', async () => {
    proxy = await startProxy(config());
    const res = await proxy.client.chat.completions.create({
      model: 'claude-3-5-haiku-latest',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi claude' },
      ],
    });
    expect(res.choices[0]!.message.content).toBe('echo: hi claude');
    expect(res.choices[0]!.finish_reason).toBe('stop');
    const sent = anthropic.lastRequest()!;
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe('sk-ant-secret');
    expect((sent.body as { system?: unknown }).system).toBe('be brief');

    const stream = await proxy.client.chat.completions.create({
      model: 'claude-3-5-haiku-latest',
      stream: true,
      messages: [{ role: 'user', content: 'stream from claude' }],
    });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('echo: stream from claude');
    expect(finish).toBe('stop');
  });

  it('translates Anthropic tool calls into OpenAI tool_calls', async () => {
    proxy = await startProxy(config());
    const res = await proxy.client.chat.completions.create({
      model: 'claude-3-5-haiku-latest',
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
      messages: [{ role: 'user', content: 'please use a tool' }],
    });
    expect(res.choices[0]!.finish_reason).toBe('tool_calls');
    const call = res.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && call.function.name).toBe('lookup');
  });

  it('sends Anthropic an agent transcript it accepts, though OpenAI-shaped and without tools', async () => {
    proxy = await startProxy(config());
    const id = 'functions.get_weather:0'; // another provider's tool call id
    for (const stream of [false, true]) {
      const res = await proxy.client.chat.completions
        .create({
          model: 'claude-3-5-haiku-latest',
          stream,
          temperature: 0.3,
          top_p: 0.9,
          stop: ['\n'],
          user: 'ada@example.com',
          messages: [
            { role: 'system', content: 'be brief' },
            { role: 'user', content: 'weather in Paris?' },
            {
              role: 'assistant',
              content: null,
              tool_calls: [
                { id, type: 'function', function: { name: 'get_weather', arguments: '{}' } },
              ],
            },
            { role: 'tool', tool_call_id: id, content: '21C' },
            { role: 'user', content: 'summarise that ' },
          ],
        })
        .withResponse();
      expect(res.response.status).toBe(200);
      const sent = anthropic.lastRequest()!.body as Record<string, unknown>;
      expect(sent).toMatchObject({ temperature: 0.3, tool_choice: { type: 'none' } });
      expect(sent['tools']).toMatchObject([{ name: 'get_weather' }]);
      expect(sent).not.toHaveProperty('top_p');
      expect(sent).not.toHaveProperty('stop_sequences');
      expect(sent['metadata']).toEqual({
        user_id: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
      });
      expect(JSON.stringify(sent)).not.toContain('ada@example.com');
    }
  });

  it('gives Anthropic answers in the response_format asked for: parse() and streams work', async () => {
    proxy = await startProxy(config());
    const completion = await proxy.client.chat.completions.parse({
      model: 'claude-3-5-haiku-latest',
      messages: [{ role: 'user', content: 'find it' }],
      response_format: zodResponseFormat(z.object({ q: z.string() }), 'query'),
    });
    expect(completion.choices[0]!.message.parsed).toEqual({ q: 'x' });
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    const sent = anthropic.lastRequest()!.body as Record<string, unknown>;
    expect(sent['tool_choice']).toEqual({ type: 'tool', name: 'json_response' });

    const stream = await proxy.client.chat.completions.create({
      model: 'claude-3-5-haiku-latest',
      stream: true,
      messages: [{ role: 'user', content: 'find it' }],
      response_format: { type: 'json_object' },
    });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.choices[0]?.delta.tool_calls).toBeUndefined();
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(JSON.parse(text)).toEqual({ q: 'x' });
    expect(finish).toBe('stop');
  });

  it('forwards a chat request byte for byte: 64-bit numbers, key order and spacing intact', async () => {
    proxy = await startProxy(config());
    const sent = `{ "seed": 18446744073709551615, "model": "gpt-4o-mini",
      "messages": [ {"content": "hello there", "role": "user"} ],
      "tools": [{"type": "function", "function": {"name": "f", "parameters":
        {"type": "object", "properties": {"n": {"type": "integer", "maximum": 18446744073709551615}}}}}] }`;
    const res = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer proxy-key-1', 'content-type': 'application/json' },
      body: sent,
    });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    expect(upstream.lastRequest()!.text).toBe(sent);
  });

  it('answers embeddings', async () => {
    proxy = await startProxy(config());
    const res = await proxy.client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['a', 'b'],
      encoding_format: 'float',
    });
    expect(res.data).toHaveLength(2);
    expect(res.data[0]!.embedding.length).toBeGreaterThan(0);
  });

  it('maps errors to the SDK error classes with OpenAI-shaped bodies', async () => {
    proxy = await startProxy(config());
    const noKey = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'wrong-key', maxRetries: 0 });
    await expect(noKey.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(
      proxy.client.chat.completions.create({
        model: 'no-such-model',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const bad = proxy.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    await expect(bad).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(bad).rejects.toMatchObject({ param: 'messages', code: 'invalid_request_body' });

    const huge = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer proxy-key-1', 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x'.repeat(100_000) }],
      }),
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({
      error: { code: 'request_too_large', type: 'invalid_request_error' },
    });

    const xKey = await fetch(`${proxy.url}/v1/models`, { headers: { 'x-api-key': 'proxy-key-1' } });
    expect(xKey.status).toBe(200);
    await xKey.body?.cancel();
  });
});
