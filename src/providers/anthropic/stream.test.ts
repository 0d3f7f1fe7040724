import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { SseParser } from '../sse.js';
import { AnthropicStreamTranslator, UpstreamStreamError } from './stream.js';
import type { AnthropicStreamTranslatorOptions } from './stream.js';

const NOW = 1_700_000_000_500;

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

// Shaped like a real Messages API stream: a text block, then a tool_use block whose input
// arrives as JSON fragments (the first one empty), pings, and usage split between
// message_start (input) and message_delta (cumulative output).
const RECORDED = [
  sse('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_01XyZ',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 412, output_tokens: 1, cache_read_input_tokens: 0 },
    },
  }),
  sse('content_block_start', {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'text', text: '' },
  }),
  sse('ping', { type: 'ping' }),
  sse('content_block_delta', {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text: 'Let me look ' },
  }),
  sse('content_block_delta', {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text: 'that up.' },
  }),
  sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
  sse('content_block_start', {
    type: 'content_block_start',
    index: 1,
    content_block: { type: 'tool_use', id: 'toolu_01Abc', name: 'get_weather', input: {} },
  }),
  sse('content_block_delta', {
    type: 'content_block_delta',
    index: 1,
    delta: { type: 'input_json_delta', partial_json: '' },
  }),
  sse('content_block_delta', {
    type: 'content_block_delta',
    index: 1,
    delta: { type: 'input_json_delta', partial_json: '{"city": "Pa' },
  }),
  sse('content_block_delta', {
    type: 'content_block_delta',
    index: 1,
    delta: { type: 'input_json_delta', partial_json: 'ris"}' },
  }),
  sse('content_block_stop', { type: 'content_block_stop', index: 1 }),
  sse('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'tool_use', stop_sequence: null },
    usage: { output_tokens: 57 },
  }),
  sse('message_stop', { type: 'message_stop' }),
].join('');

function translate(
  wire: string,
  opts: Partial<AnthropicStreamTranslatorOptions> = {},
  chunkBytes = wire.length,
): { chunks: OpenAI.ChatCompletionChunk[]; translator: AnthropicStreamTranslator } {
  const translator = new AnthropicStreamTranslator({
    model: 'my-alias',
    includeUsage: true,
    now: NOW,
    ...opts,
  });
  const parser = new SseParser();
  const bytes = new TextEncoder().encode(wire);
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  for (let i = 0; i < bytes.length; i += chunkBytes) {
    for (const ev of parser.push(bytes.subarray(i, i + chunkBytes))) {
      chunks.push(...translator.push(ev));
    }
  }
  return { chunks, translator };
}

const head = {
  id: 'chatcmpl-msg_01XyZ',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: 'my-alias',
};
const delta = (d: object, finish: string | null = null) => ({
  ...head,
  choices: [{ index: 0, delta: d, finish_reason: finish }],
  usage: null,
});

describe('AnthropicStreamTranslator', () => {
  it('translates a recorded text + tool_use stream into OpenAI chunks, ending with usage', () => {
    const { chunks, translator } = translate(RECORDED);
    expect(chunks).toEqual([
      delta({ role: 'assistant', content: '' }),
      delta({ content: 'Let me look ' }),
      delta({ content: 'that up.' }),
      delta({
        tool_calls: [
          {
            index: 0,
            id: 'toolu_01Abc',
            type: 'function',
            function: { name: 'get_weather', arguments: '' },
          },
        ],
      }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '{"city": "Pa' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: 'ris"}' } }] }),
      delta({}, 'tool_calls'),
      {
        ...head,
        choices: [],
        usage: { prompt_tokens: 412, completion_tokens: 57, total_tokens: 469 },
      },
    ]);
    expect(translator.done).toBe(true);
  });

  it('gives the same chunks however the bytes were split', () => {
    const whole = translate(RECORDED).chunks;
    for (const size of [1, 7, 64]) expect(translate(RECORDED, {}, size).chunks).toEqual(whole);
  });

  it('omits usage entirely when the client did not ask for it, yet still records it', () => {
    const { chunks, translator } = translate(RECORDED, { includeUsage: false });
    expect(chunks).toHaveLength(7);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(translator.usage).toEqual({
      prompt_tokens: 412,
      completion_tokens: 57,
      total_tokens: 469,
    });
  });

  it('numbers tool calls among tool blocks only, whatever their Anthropic block index', () => {
    const wire =
      sse('message_start', {
        type: 'message_start',
        message: { id: 'm', content: [], usage: { input_tokens: 1, output_tokens: 0 } },
      }) +
      sse('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'thinking', thinking: '', signature: '' },
      }) +
      sse('content_block_start', {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'text', text: '' },
      }) +
      sse('content_block_start', {
        type: 'content_block_start',
        index: 2,
        content_block: { type: 'tool_use', id: 'a', name: 'f', input: {} },
      }) +
      sse('content_block_start', {
        type: 'content_block_start',
        index: 3,
        content_block: { type: 'tool_use', id: 'b', name: 'g', input: {} },
      }) +
      sse('content_block_delta', {
        type: 'content_block_delta',
        index: 3,
        delta: { type: 'input_json_delta', partial_json: '{}' },
      }) +
      sse('content_block_delta', {
        type: 'content_block_delta',
        index: 2,
        delta: { type: 'input_json_delta', partial_json: '{"x":1}' },
      });
    const calls = translate(wire).chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls.map((c) => [c.index, c.id, c.function?.arguments])).toEqual([
      [0, 'a', ''],
      [1, 'b', ''],
      [1, undefined, '{}'],
      [0, undefined, '{"x":1}'],
    ]);
  });

  it.each([
    ['max_tokens', 'length'],
    ['end_turn', 'stop'],
    ['refusal', 'content_filter'],
  ])('maps a message_delta stop_reason %s to finish_reason %s', (stopReason, finish) => {
    const t = new AnthropicStreamTranslator({ model: 'm', includeUsage: false, now: NOW });
    const [chunk] = t.push({
      data: JSON.stringify({
        type: 'message_delta',
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: { output_tokens: 3 },
      }),
    });
    expect(chunk?.choices[0]?.finish_reason).toBe(finish);
  });

  it('throws an UpstreamStreamError carrying the type and message of an error event', () => {
    const t = new AnthropicStreamTranslator({ model: 'm', includeUsage: false, now: NOW });
    const data = JSON.stringify({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    let caught: unknown;
    try {
      t.push({ event: 'error', data });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UpstreamStreamError);
    expect(caught).toMatchObject({
      code: 'LLMP_UPSTREAM_STREAM',
      errorType: 'overloaded_error',
      message: 'Overloaded',
    });
  });

  it('reports an error event of an undocumented type as unknown_error, never the text sent', () => {
    const t = new AnthropicStreamTranslator({ model: 'm', includeUsage: false, now: NOW });
    for (const type of ['sk-ant/KEY+abc123', 'brand_new_error', 42]) {
      const data = JSON.stringify({ type: 'error', error: { type, message: 'x' } });
      expect(() => t.push({ event: 'error', data })).toThrow(
        expect.objectContaining({ errorType: 'unknown_error' }) as Error,
      );
    }
  });

  it('throws an invalid_event UpstreamStreamError for data that is not a JSON object', () => {
    const t = new AnthropicStreamTranslator({ model: 'm', includeUsage: false, now: NOW });
    for (const data of ['{"type":"message_st', 'null', '42']) {
      expect(() => t.push({ data })).toThrow(
        expect.objectContaining({ errorType: 'invalid_event' }) as Error,
      );
    }
  });

  it('throws an invalid_event UpstreamStreamError for an event missing its fields', () => {
    const t = new AnthropicStreamTranslator({ model: 'm', includeUsage: false, now: NOW });
    expect(() => t.push({ data: '{"type":"message_start"}' })).toThrow(UpstreamStreamError);
  });

  it('ignores pings, block stops and unknown events, and everything after message_stop', () => {
    const t = new AnthropicStreamTranslator({ model: 'm', includeUsage: true, now: NOW });
    expect(t.push({ data: '{"type":"ping"}' })).toEqual([]);
    expect(t.push({ data: '{"type":"content_block_stop","index":0}' })).toEqual([]);
    expect(t.push({ data: '{"type":"some_future_event"}' })).toEqual([]);
    expect(t.done).toBe(false);
    t.push({ data: '{"type":"message_stop"}' });
    expect(t.done).toBe(true);
    expect(
      t.push({
        data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"late"}}',
      }),
    ).toEqual([]);
  });

  it('ends a tool call that streamed no arguments with "{}", as a JSON answer has', () => {
    const t = new AnthropicStreamTranslator({ model: 'm', includeUsage: false, now: NOW });
    const push = (data: object) => t.push({ data: JSON.stringify(data) });
    push({
      type: 'message_start',
      message: { id: 'msg_1', usage: { input_tokens: 1, output_tokens: 1 } },
    });
    const tool = { type: 'tool_use', id: 'toolu_1', name: 'now', input: {} };
    push({ type: 'content_block_start', index: 0, content_block: tool });
    const empty = { type: 'input_json_delta', partial_json: '' };
    expect(push({ type: 'content_block_delta', index: 0, delta: empty })).toEqual([]);
    const [end] = push({ type: 'content_block_stop', index: 0 });
    expect(end?.choices[0]?.delta).toEqual({
      tool_calls: [{ index: 0, function: { arguments: '{}' } }],
    });
    // A tool that did stream its arguments gets nothing more at its block's end.
    push({ type: 'content_block_start', index: 1, content_block: { ...tool, id: 'toolu_2' } });
    push({ type: 'content_block_delta', index: 1, delta: { ...empty, partial_json: '{"a":1}' } });
    expect(push({ type: 'content_block_stop', index: 1 })).toEqual([]);
  });

  it('streams the forced JSON tool call as content, ending in stop', () => {
    const t = new AnthropicStreamTranslator({
      model: 'm',
      includeUsage: false,
      now: NOW,
      jsonTool: 'json_response',
    });
    const push = (data: object) => t.push({ data: JSON.stringify(data) });
    push({
      type: 'message_start',
      message: { id: 'msg_1', usage: { input_tokens: 1, output_tokens: 1 } },
    });
    const tool = { type: 'tool_use', id: 'toolu_1', name: 'json_response', input: {} };
    expect(push({ type: 'content_block_start', index: 0, content_block: tool })).toEqual([]);
    const piece = (partial_json: string) =>
      push({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'input_json_delta', partial_json },
      });
    const text = [...piece('{"city": '), ...piece('"Paris"}')].map((c) => c.choices[0]?.delta);
    expect(text).toEqual([{ content: '{"city": ' }, { content: '"Paris"}' }]);
    expect(push({ type: 'content_block_stop', index: 0 })).toEqual([]);
    const [end] = push({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use' },
      usage: { output_tokens: 9 },
    });
    expect(end?.choices[0]?.finish_reason).toBe('stop');
  });

  it('reports no usage before message_start', () => {
    const t = new AnthropicStreamTranslator({ model: 'm', includeUsage: true, now: NOW });
    expect(t.usage).toBeUndefined();
  });
});
