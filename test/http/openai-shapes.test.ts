/**
 * What the official OpenAI SDK can send, the proxy passes on (in-process proxy, real
 * loopback HTTP, a fake upstream that records the body): audio and file parts, refusal
 * parts, the legacy function role and `functions`, custom tools and custom tool calls. A
 * provider that cannot serve a shape refuses it with a 400 naming the param, never a 5xx.
 */
import { APIError } from 'openai';
import type { EmbeddingCreateParams } from 'openai/resources/embeddings';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

let upstream: FakeUpstream;
let anthropic: FakeUpstream;
let proxy: RunningProxy | undefined;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'oai' });
  anthropic = await startFakeUpstream({ name: 'ant' });
});
afterAll(async () => {
  await upstream.close();
  await anthropic.close();
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

async function start(): Promise<RunningProxy> {
  proxy = await startProxy({
    auth: { apiKeys: ['shapes-key'] },
    providers: [
      {
        name: 'openai_fake',
        type: 'openai',
        baseUrl: `${upstream.url}/v1`,
        models: ['gpt-4o-mini', 'text-embedding-3-small'],
      },
      { name: 'claude', type: 'anthropic', baseUrl: `${anthropic.url}/v1`, models: ['claude'] },
      { name: 'demo', type: 'demo', models: ['demo-model'], latencyMs: 0 },
    ],
    routing: { healthCheck: { enabled: false } },
  });
  return proxy;
}

const REQUEST: ChatCompletionCreateParamsNonStreaming = {
  model: 'gpt-4o-mini',
  messages: [
    { role: 'developer', content: 'Be brief.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What does the recording say, and the report?' },
        { type: 'input_audio', input_audio: { data: 'UklGRiQAAABXQVZFZm10', format: 'wav' } },
        {
          type: 'file',
          file: { file_data: 'data:application/pdf;base64,JVBERi0x', filename: 'q3.pdf' },
        },
        { type: 'file', file: { file_id: 'file-abc123' } },
      ],
    },
    { role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot open that file.' }] },
    {
      role: 'assistant',
      content: null,
      function_call: { name: 'weather', arguments: '{"city":"Oslo"}' },
    },
    { role: 'function', name: 'weather', content: '{"celsius":3}' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_9', type: 'custom', custom: { name: 'sql', input: 'SELECT 1' } }],
    },
    { role: 'tool', tool_call_id: 'call_9', content: '1' },
    { role: 'user', content: 'Thanks. And now?' },
  ],
  tools: [
    {
      type: 'custom',
      custom: {
        name: 'sql',
        description: 'Runs one SQL query.',
        format: { type: 'grammar', grammar: { syntax: 'lark', definition: 'start: "SELECT 1"' } },
      },
    },
  ],
  functions: [{ name: 'weather', parameters: { type: 'object', properties: {} } }],
  function_call: 'auto',
};

describe('shapes the OpenAI SDK sends', () => {
  it('reach an OpenAI-compatible upstream intact and are answered 200', async () => {
    const p = await start();
    const { data, response } = await p.client.chat.completions.create(REQUEST).withResponse();
    expect(response.status).toBe(200);
    expect(data.choices[0]!.message.content).toBe('echo: Thanks. And now?');
    expect(upstream.lastRequest()?.body).toEqual(REQUEST);
  });

  it('are answered by the demo provider, which reads only their text', async () => {
    const p = await start();
    const data = await p.client.chat.completions.create({ ...REQUEST, model: 'demo-model' });
    expect(data.choices[0]!.message.content).toContain('Thanks. And now?');
  });

  it('that the Anthropic translation cannot serve are each a 400 naming the param', async () => {
    const p = await start();
    const [, user, refused, , answered, customCall, toolResult, hi] = REQUEST.messages;
    const cases: [Partial<ChatCompletionCreateParamsNonStreaming>, string][] = [
      [{ messages: [user!] }, 'messages[0].content[1]'],
      [{ messages: [hi!, refused!] }, 'messages[1].content[0]'],
      [{ messages: [hi!, answered!] }, 'messages[1]'],
      [{ messages: [customCall!, toolResult!] }, 'messages[0].tool_calls[0]'],
      [{ messages: [hi!], tools: REQUEST.tools! }, 'tools[0]'],
    ];
    for (const [change, param] of cases) {
      const err: unknown = await p.client.chat.completions
        .create({ model: 'claude', messages: [], ...change })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(APIError);
      const { status, code, param: named } = err as APIError;
      // The translation's refusal (past validation), not validation's invalid_request_body.
      expect({ status, code, param: named?.slice(0, param.length) }).toEqual({
        status: 400,
        code: 'unsupported_parameter',
        param,
      });
    }
  });

  it('include null for the optional embeddings fields, which the upstream never sees', async () => {
    const p = await start();
    const params = { model: 'text-embedding-3-small', input: 'hi', dimensions: null, user: null };
    await p.client.embeddings.create(params as unknown as EmbeddingCreateParams);
    const body = upstream.lastRequest()?.body as Record<string, unknown>;
    expect(body['input']).toBe('hi');
    expect(body).not.toHaveProperty('dimensions');
    expect(body).not.toHaveProperty('user');
  });
});
