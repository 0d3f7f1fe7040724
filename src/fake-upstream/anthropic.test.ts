import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './index.js';

let up: FakeUpstream;

beforeAll(async () => {
  up = await startFakeUpstream({ name: 'an', streamChunks: 3 });
});
afterAll(() => up.close());

const VERSION = { 'anthropic-version': '2023-06-01' };
const SEARCH_TOOL = { name: 'search', input_schema: { type: 'object', properties: {} } };

function messages(body: unknown, headers: Record<string, string> = VERSION): Promise<Response> {
  return fetch(`${up.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** `event: NAME\ndata: JSON` blocks, parsed. */
function sseEvents(body: string): SseEvent[] {
  return body
    .split('\n\n')
    .filter((block) => block.length > 0)
    .map((block) => {
      const [eventLine = '', dataLine = ''] = block.split('\n');
      expect(eventLine).toMatch(/^event: /);
      expect(dataLine).toMatch(/^data: /);
      const data = JSON.parse(dataLine.slice('data: '.length)) as Record<string, unknown>;
      const event = eventLine.slice('event: '.length);
      expect(data['type']).toBe(event);
      return { event, data };
    });
}

describe('POST /v1/messages (JSON)', () => {
  it('echoes the last user turn as a text block, with input tokens counting the system prompt', async () => {
    const res = await messages({
      model: 'claude-any',
      max_tokens: 64,
      system: 'you are terse',
      messages: [
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: [{ type: 'text', text: 'hi' }] },
        { role: 'user', content: [{ type: 'text', text: 'what now' }] },
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: `msg_an_${up.requests}`,
      type: 'message',
      role: 'assistant',
      model: 'claude-any',
      content: [{ type: 'text', text: 'echo: what now' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      // input: "you are terse" 3 + "hello" 1 + "hi" 1 + "what now" 2; output: 3.
      usage: { input_tokens: 7, output_tokens: 3 },
    });
  });

  it('accepts system as content blocks and a user turn of tool_result blocks', async () => {
    const res = await messages({
      model: 'c',
      max_tokens: 1,
      system: [{ type: 'text', text: 'rules here' }],
      tools: [SEARCH_TOOL],
      messages: [
        { role: 'user', content: 'use the tool' },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_1', name: 'search', input: { q: 'x' } }],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'found it' }],
        },
      ],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { content: unknown };
    expect(body.content).toEqual([{ type: 'text', text: 'echo: found it' }]);
  });

  it('calls the first tool with a tool_use block when the user says "tool"', async () => {
    const res = await messages({
      model: 'c',
      max_tokens: 64,
      tools: [SEARCH_TOOL, { ...SEARCH_TOOL, name: 'other' }],
      messages: [{ role: 'user', content: 'Tool time' }],
    });
    expect(await res.json()).toMatchObject({
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'search', input: { q: 'x' } }],
      stop_reason: 'tool_use',
    });
  });

  it('requires the anthropic-version header, answering 400 in Anthropic error shape', async () => {
    const res = await messages({ model: 'c', max_tokens: 8, messages: [] }, {});
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' },
    });
  });

  it.each([
    ['no messages', { messages: [] }, /at least one message/],
    ['temperature with top_p', { temperature: 0.5, top_p: 0.9 }, /cannot both be specified/],
    ['a whitespace stop sequence', { stop_sequences: ['\n'] }, /non-whitespace/],
    ['an email as user_id', { metadata: { user_id: 'a@b.c' } }, /email/],
    ['blank text', { messages: [{ role: 'user', content: ' ' }] }, /non-whitespace/],
    [
      'a final assistant turn ending in whitespace',
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: 'Sure: ' },
        ],
      },
      /trailing whitespace/,
    ],
    [
      'tool blocks without tools',
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 's', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1' }] },
        ],
      },
      /must define tools/,
    ],
    [
      'a tool id outside the allowed characters',
      {
        tools: [SEARCH_TOOL],
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'f.s:0', name: 's', input: {} }] },
        ],
      },
      /should match pattern/,
    ],
  ])('refuses %s with a 400, as the real API does', async (_name, over, message) => {
    const res = await messages({
      model: 'c',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'x' }],
      ...over,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message },
    });
  });

  it('requires max_tokens, as the real API does', async () => {
    const res = await messages({ model: 'c', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'error', error: { message: /max_tokens/ } });
  });
});

describe('POST /v1/messages (SSE)', () => {
  it('streams the real event sequence, one text_delta per chunk', async () => {
    const res = await messages({
      model: 'c',
      max_tokens: 64,
      stream: true,
      messages: [{ role: 'user', content: 'abc' }],
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseEvents(await res.text());
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0]?.data['message']).toMatchObject({
      id: `msg_an_${up.requests}`,
      role: 'assistant',
      content: [],
      stop_reason: null,
    });
    expect(events[1]?.data['content_block']).toEqual({ type: 'text', text: '' });
    const deltas = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => e.data['delta']);
    expect(deltas).toEqual([
      { type: 'text_delta', text: 'ech' },
      { type: 'text_delta', text: 'o: ' },
      { type: 'text_delta', text: 'abc' },
    ]);
    expect(events[7]?.data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 2 },
    });
  });

  it('streams a tool call as a tool_use block filled by two input_json_delta pieces', async () => {
    const res = await messages({
      model: 'c',
      max_tokens: 64,
      stream: true,
      tools: [SEARCH_TOOL],
      messages: [{ role: 'user', content: 'run the tool' }],
    });
    const events = sseEvents(await res.text());
    expect(events[1]?.data['content_block']).toEqual({
      type: 'tool_use',
      id: 'toolu_1',
      name: 'search',
      input: {},
    });
    const pieces = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => e.data['delta'] as { type: string; partial_json: string });
    expect(pieces.map((p) => p.type)).toEqual(['input_json_delta', 'input_json_delta']);
    expect(JSON.parse(pieces.map((p) => p.partial_json).join(''))).toEqual({ q: 'x' });
    expect(events.at(-2)?.data['delta']).toEqual({ stop_reason: 'tool_use', stop_sequence: null });
  });
});

describe('GET /v1/models (with anthropic-version)', () => {
  it('lists models in Anthropic list format', async () => {
    const res = await fetch(`${up.url}/v1/models`, { headers: VERSION });
    const body = (await res.json()) as { data: { id: string }[] };
    expect(body).toMatchObject({
      has_more: false,
      first_id: 'gpt-4o-mini',
      last_id: 'claude-3-5-haiku-latest',
    });
    expect(body.data[2]).toEqual({
      type: 'model',
      id: 'claude-3-5-haiku-latest',
      display_name: 'claude-3-5-haiku-latest',
      created_at: '2024-01-01T00:00:00Z',
    });
  });
});
