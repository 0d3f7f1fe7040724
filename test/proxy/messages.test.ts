/**
 * POST /v1/messages through the official Anthropic SDK, against two fake upstreams: passed
 * through byte for byte (with the client's anthropic-version/-beta, the provider's own key)
 * to an `anthropic` provider, and translated to chat completions and back for an `openai`
 * one; JSON and streams, text and a tool-use round trip, either way the same Message.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { BadRequestError } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NATIVE,
  PROXY_KEY,
  TRANSLATED,
  claudeCodeRequest,
  post,
  sseEvents,
  startMessagesRig,
  type MessagesRig,
} from './messages-support.js';

let rig: MessagesRig;
beforeAll(async () => {
  rig = await startMessagesRig();
});
afterAll(async () => {
  await rig.close();
});

const WEATHER: Anthropic.Tool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
};

/** A user turn asking for the tool, the model's tool_use, and the result with a follow-up. */
async function toolRoundTrip(model: string): Promise<Anthropic.Message> {
  const ask: Anthropic.MessageParam = { role: 'user', content: 'use the tool for Paris' };
  const first = await rig.client.messages.create({
    model,
    max_tokens: 64,
    tools: [WEATHER],
    messages: [ask],
  });
  expect(first.stop_reason).toBe('tool_use');
  const call = first.content.find((b) => b.type === 'tool_use');
  expect(call).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { q: 'x' } });
  return rig.client.messages.create({
    model,
    max_tokens: 64,
    tools: [WEATHER],
    messages: [
      ask,
      { role: 'assistant', content: first.content },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: (call as Anthropic.ToolUseBlock).id,
            content: 'sunny',
          },
          { type: 'text', text: 'now answer' },
        ],
      },
    ],
  });
}

describe.each([
  { way: 'passed through to an anthropic provider', model: NATIVE },
  { way: 'translated for an openai provider', model: TRANSLATED },
])('POST /v1/messages $way', ({ model }) => {
  it('answers messages.create with a Message', async () => {
    const message = await rig.client.messages.create({
      model,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.model).toBe(model);
    expect(message.id).toMatch(/^msg_/);
    expect(message.content).toEqual([{ type: 'text', text: 'echo: hello there' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it('carries a tool-use round trip', async () => {
    const answer = await toolRoundTrip(model);
    expect(answer.stop_reason).toBe('end_turn');
    // The fakes echo the last user turn: Anthropic's holds the tool result, chat's does not.
    expect(answer.content).toEqual([
      { type: 'text', text: expect.stringMatching(/now answer$/) as unknown },
    ]);
  });

  it('streams text (messages.stream, finalMessage)', async () => {
    const stream = rig.client.messages.stream({
      model,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'stream me some words' }],
    });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text).toBe('echo: stream me some words');
    expect(final.content).toEqual([{ type: 'text', text }]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it('streams a tool call whole (input_json_delta pieces)', async () => {
    const final = await rig.client.messages
      .stream({
        model,
        max_tokens: 64,
        tools: [WEATHER],
        messages: [{ role: 'user', content: 'call the tool' }],
      })
      .finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([
      expect.objectContaining({ type: 'tool_use', name: 'get_weather', input: { q: 'x' } }),
    ]);
  });

  it('serves the recorded Claude Code request (system blocks, tools, thinking, metadata)', async () => {
    const body = JSON.stringify({ ...claudeCodeRequest(), model });
    const res = await post(rig, '/v1/messages', body, {
      'anthropic-beta': 'interleaved-thinking-2025-05-14',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = sseEvents(await res.text());
    expect(events[0]!.event).toBe('message_start');
    expect(events.at(-1)!.event).toBe('message_stop');
    expect(events.map((e) => e.event)).toContain('message_delta');
    expect(events.some((e) => e.event === 'error')).toBe(false);
  });
});

describe('POST /v1/messages passed through', () => {
  it('sends the client body byte for byte, its anthropic headers, and the provider key', async () => {
    const before = rig.sent.length;
    await rig.client.messages.create(
      {
        model: NATIVE,
        max_tokens: 64,
        metadata: { user_id: 'u-1' },
        messages: [{ role: 'user', content: 'bytes please' }],
      },
      { headers: { 'anthropic-beta': 'test-beta-2026-01-01' } },
    );
    const received = rig.ant.lastRequest()!;
    expect(received.path).toBe('/v1/messages');
    expect(received.text).toBe(rig.sent[before]);
    expect(received.headers['anthropic-beta']).toBe('test-beta-2026-01-01');
    expect(received.headers['anthropic-version']).toBe(
      rig.sentHeaders.at(-1)!['anthropic-version'],
    );
    // The provider's key, never the client's proxy key.
    expect(received.headers['x-api-key']).not.toBe(PROXY_KEY);
  });

  it('forwards the recorded Claude Code request as it came, anthropic-beta included', async () => {
    const body = JSON.stringify({ ...claudeCodeRequest(), model: NATIVE, stream: false });
    const beta = 'interleaved-thinking-2025-05-14,context-management-2025-06-27';
    const res = await post(rig, '/v1/messages', body, { 'anthropic-beta': beta });
    expect(res.status).toBe(200);
    const received = rig.ant.lastRequest()!;
    expect(received.text).toBe(body);
    expect(received.headers['anthropic-beta']).toBe(beta);
  });

  it('keeps what a re-serialisation would change (a uint64 in a tool schema)', async () => {
    const body =
      '{"model":"claude-native","max_tokens":16,"messages":[{"role":"user","content":"hi"}],' +
      '"tools":[{"name":"t","input_schema":{"type":"object","maximum":18446744073709551615}}]}';
    const res = await post(rig, '/v1/messages', body);
    expect(res.status).toBe(200);
    expect(rig.ant.lastRequest()!.text).toBe(body);
  });

  it("answers with the upstream's own words when it refuses the request", async () => {
    const err = await rig.client.messages
      .create({
        model: NATIVE,
        max_tokens: 16,
        stop_sequences: ['  '],
        messages: [{ role: 'user', content: 'hi' }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toContain(
      'stop_sequences: each stop sequence must contain non-whitespace',
    );
  });
});

describe('POST /v1/messages translated', () => {
  it('sends the openai upstream a chat request', async () => {
    await rig.client.messages.create({
      model: TRANSLATED,
      max_tokens: 32,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      stop_sequences: ['END'],
      messages: [{ role: 'user', content: 'translate me' }],
    });
    const received = rig.oai.lastRequest()!;
    expect(received.path).toBe('/v1/chat/completions');
    expect(received.body).toEqual({
      model: TRANSLATED,
      max_tokens: 32,
      stop: ['END'],
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'translate me' },
      ],
    });
  });

  it('translates the recorded Claude Code request (thinking as effort, tools, user)', async () => {
    const recorded = claudeCodeRequest();
    const res = await post(
      rig,
      '/v1/messages',
      JSON.stringify({ ...recorded, model: TRANSLATED, stream: false }),
    );
    expect(res.status).toBe(200);
    const chat = rig.oai.lastRequest()!.body as Record<string, unknown>;
    // thinking.budget_tokens 10,000: Claude Code's "think hard".
    expect(chat.reasoning_effort).toBe('medium');
    expect(chat.tools).toHaveLength((recorded.tools as unknown[]).length);
    expect(chat.user).toBe((recorded.metadata as { user_id: string }).user_id);
    const message = (await res.json()) as { type: string; stop_reason: string };
    expect(message.type).toBe('message');
  });

  it('refuses what chat cannot carry with a 400 naming the field', async () => {
    const err = await rig.client.messages
      .create({
        model: TRANSLATED,
        max_tokens: 32,
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        messages: [{ role: 'user', content: 'search' }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toContain('tools.0.type');
  });

  it('ends a stream the upstream breaks off with an error event, never [DONE]', async () => {
    rig.oai.set({ behaviour: 'truncated_stream' });
    try {
      const res = await post(
        rig,
        '/v1/messages',
        JSON.stringify({
          model: TRANSLATED,
          max_tokens: 32,
          stream: true,
          messages: [{ role: 'user', content: 'break please' }],
        }),
      );
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain('[DONE]');
      const events = sseEvents(text);
      expect(events[0]!.event).toBe('message_start');
      expect(events.at(-1)).toEqual({
        event: 'error',
        data: {
          type: 'error',
          error: { type: 'api_error', message: expect.any(String) as unknown },
        },
      });
      expect(events.map((e) => e.event)).not.toContain('message_stop');
    } finally {
      rig.oai.set({ behaviour: 'ok' });
    }
  });
});

describe('POST /v1/messages metrics', () => {
  it('counts requests under the route label /v1/messages', async () => {
    const labels = { route: '/v1/messages', status: '200' };
    const before = await rig.proxy.metric('llm_proxy_http_requests_total', labels);
    await rig.client.messages.create({
      model: NATIVE,
      max_tokens: 16,
      messages: [{ role: 'user', content: 'count me' }],
    });
    expect(await rig.proxy.metric('llm_proxy_http_requests_total', labels)).toBe(before + 1);
  });
});
