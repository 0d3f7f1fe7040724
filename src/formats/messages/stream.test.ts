import { describe, expect, it } from 'vitest';
import type {
  ChatCompletionChunk,
  ChatCompletionDelta,
  ChatToolCallDelta,
  FinishReason,
  Usage,
} from '../../upstream/openai-types.js';
import { MessagesFormatError } from './errors.js';
import { MessagesStreamEncoder, type MessagesStreamOptions } from './stream.js';
import type { AnthropicContentBlock, AnthropicMessage, AnthropicStreamEvent } from './types.js';

const chunk = (
  delta: ChatCompletionDelta & Record<string, unknown>,
  finish: FinishReason | null = null,
  choiceExtra: Record<string, unknown> = {},
): ChatCompletionChunk => ({
  id: 'chatcmpl-s1',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, delta, finish_reason: finish, ...choiceExtra }],
});
const usageChunk = (usage: Usage): ChatCompletionChunk => ({ ...chunk({}), choices: [], usage });
const call = (index: number, piece: Omit<ChatToolCallDelta, 'index'>) =>
  chunk({ tool_calls: [{ index, ...piece }] });
const usage: Usage = {
  prompt_tokens: 900,
  completion_tokens: 31,
  total_tokens: 931,
  prompt_tokens_details: { cached_tokens: 512 },
};

/** Runs chunks through an encoder and parses its frames, checking each frame's form. */
function encode(chunks: ChatCompletionChunk[], opts: Partial<MessagesStreamOptions> = {}) {
  const encoder = new MessagesStreamEncoder({ model: 'claude-sonnet-4-5', ...opts });
  const frames = [...chunks.flatMap((c) => encoder.push(c)), ...encoder.end()];
  return frames.map((frame) => {
    const match = /^event: (\w+)\ndata: (.*)\n\n$/s.exec(frame);
    expect(match, frame).not.toBeNull();
    const event = JSON.parse(match![2]!) as AnthropicStreamEvent;
    expect(event.type).toBe(match![1]);
    return event;
  });
}

/**
 * Rebuilds the Message from the events as a client does, failing on anything the reference
 * does not allow: events before message_start or after message_stop, a delta or stop for a
 * block that is not the open one, blocks out of order, two blocks open at once.
 */
function replay(events: AnthropicStreamEvent[]): AnthropicMessage {
  const [first, ...rest] = events;
  if (first?.type !== 'message_start') throw new Error(`first event is ${first?.type}`);
  expect(rest.at(-1)?.type).toBe('message_stop');
  const message = structuredClone(first.message);
  const json = new Map<number, string>();
  let open: number | undefined;
  for (const event of rest.slice(0, -1)) {
    if (event.type === 'content_block_start') {
      expect(open).toBeUndefined();
      expect(event.index).toBe(message.content.length);
      message.content.push(structuredClone(event.content_block));
      open = event.index;
    } else if (event.type === 'content_block_delta') {
      expect(event.index).toBe(open);
      applyDelta(message.content[event.index]!, event.delta, json, event.index);
    } else if (event.type === 'content_block_stop') {
      expect(event.index).toBe(open);
      const block = message.content[event.index]!;
      if (block.type === 'tool_use')
        block.input = JSON.parse(json.get(event.index) ?? '{}') as never;
      open = undefined;
    } else if (event.type === 'message_delta') {
      expect(open).toBeUndefined();
      message.stop_reason = event.delta.stop_reason;
      message.stop_sequence = event.delta.stop_sequence;
      message.usage = { ...message.usage, ...event.usage };
    } else throw new Error(`unexpected ${event.type} event`);
  }
  return message;
}

function applyDelta(
  block: AnthropicContentBlock,
  delta: Extract<AnthropicStreamEvent, { type: 'content_block_delta' }>['delta'],
  json: Map<number, string>,
  index: number,
): void {
  if (block.type === 'text' && delta.type === 'text_delta') block.text += delta.text;
  else if (block.type === 'thinking' && delta.type === 'thinking_delta')
    block.thinking += delta.thinking;
  else if (block.type === 'tool_use' && delta.type === 'input_json_delta') {
    json.set(index, (json.get(index) ?? '') + delta.partial_json);
  } else throw new Error(`${delta.type} in a ${block.type} block`);
}

describe('MessagesStreamEncoder', () => {
  it('streams a text answer as the reference shows it, event by event', () => {
    const events = encode(
      [
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'Hello' }),
        chunk({ content: '!' }),
        chunk({}, 'stop'),
        usageChunk(usage),
      ],
      { inputTokens: 880 },
    );
    expect(events).toEqual([
      {
        type: 'message_start',
        message: {
          id: 'msg_s1',
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-4-5',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 880, output_tokens: 0 },
        },
      },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '!' } },
      { type: 'content_block_stop', index: 0 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { input_tokens: 388, output_tokens: 31, cache_read_input_tokens: 512 },
      },
      { type: 'message_stop' },
    ]);
  });

  it('streams text, then each sequential tool call live, numbering blocks across kinds', () => {
    const events = encode([
      chunk({ role: 'assistant', content: "I'll look." }),
      call(0, { id: 'call_a', type: 'function', function: { name: 'Read', arguments: '' } }),
      call(0, { function: { arguments: '{"file_path":' } }),
      call(0, { function: { arguments: '"/a"}' } }),
      call(1, { id: 'call_b', type: 'function', function: { name: 'Bash', arguments: '{"comm' } }),
      call(1, { function: { arguments: 'and":"ls"}' } }),
      chunk({}, 'tool_calls'),
      usageChunk(usage),
    ]);
    const starts = events.filter((e) => e.type === 'content_block_start');
    expect(starts.map((e) => [e.index, e.content_block.type])).toEqual([
      [0, 'text'],
      [1, 'tool_use'],
      [2, 'tool_use'],
    ]);
    // Live: Bash's block starts before its second piece arrives.
    const bashStart = events.findIndex((e) => e.type === 'content_block_start' && e.index === 2);
    const bashPieces = events.filter(
      (e, i) => i > bashStart && e.type === 'content_block_delta' && e.index === 2,
    );
    expect(bashPieces).toHaveLength(2);
    expect(replay(events).content).toEqual([
      { type: 'text', text: "I'll look." },
      { type: 'tool_use', id: 'call_a', name: 'Read', input: { file_path: '/a' } },
      { type: 'tool_use', id: 'call_b', name: 'Bash', input: { command: 'ls' } },
    ]);
    expect(replay(events).stop_reason).toBe('tool_use');
  });

  it('keeps interleaved tool calls whole, one block at a time', () => {
    const events = encode([
      call(0, { id: 'call_a', type: 'function', function: { name: 'Read', arguments: '{"file_' } }),
      call(1, { id: 'call_b', type: 'function', function: { name: 'Glob', arguments: '{"pat' } }),
      call(0, { function: { arguments: 'path":"/a' } }),
      call(1, { function: { arguments: 'tern":"*.ts"}' } }),
      call(2, { id: 'call_c', type: 'function', function: { name: 'LS', arguments: '' } }),
      call(0, { function: { arguments: '"}' } }),
      chunk({}, 'tool_calls'),
    ]);
    const message = replay(events);
    expect(message.content).toEqual([
      { type: 'tool_use', id: 'call_a', name: 'Read', input: { file_path: '/a' } },
      { type: 'tool_use', id: 'call_b', name: 'Glob', input: { pattern: '*.ts' } },
      { type: 'tool_use', id: 'call_c', name: 'LS', input: {} },
    ]);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('refuses more arguments for a call whose block already closed', () => {
    const encoder = new MessagesStreamEncoder({ model: 'm' });
    encoder.push(call(0, { id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }));
    encoder.push(chunk({ content: 'text closes the call' }));
    expect(encoder.push(call(0, { function: { arguments: ' ' } }))).toEqual([]);
    expect(() => encoder.push(call(0, { function: { arguments: '{"x":1}' } }))).toThrow(
      MessagesFormatError,
    );
  });

  it('streams reasoning as a thinking block when thinking is on, and drops it when off', () => {
    const chunks = [
      chunk({ role: 'assistant', reasoning_content: 'Two and two ' }),
      chunk({ reasoning_content: 'make four.' }),
      chunk({ content: '4' }),
      chunk({}, 'stop'),
    ];
    const on = replay(encode(chunks, { thinking: true }));
    expect(on.content).toEqual([
      { type: 'thinking', thinking: 'Two and two make four.', signature: '' },
      { type: 'text', text: '4' },
    ]);
    const off = replay(encode(chunks));
    expect(off.content).toEqual([{ type: 'text', text: '4' }]);
    const viaReasoning = replay(
      encode([chunk({ reasoning: 'hm' }), chunk({}, 'stop')], { thinking: true }),
    );
    expect(viaReasoning.content).toEqual([{ type: 'thinking', thinking: 'hm', signature: '' }]);
  });

  it.each([
    ['stop', {}, 'end_turn', null],
    ['length', {}, 'max_tokens', null],
    ['content_filter', {}, 'refusal', null],
    ['stop', { stop_reason: 'END' }, 'stop_sequence', 'END'],
  ] as const)(
    'ends finish_reason %s (%j) with stop_reason %s',
    (finish, extra, reason, sequence) => {
      const events = encode([chunk({ content: 'x' }), chunk({}, finish, extra)], {
        stopSequences: ['END'],
      });
      const message = replay(events);
      expect([message.stop_reason, message.stop_sequence]).toEqual([reason, sequence]);
    },
  );

  it('ends with tool_use after tool calls, and refusal after a streamed refusal', () => {
    const tools = encode([
      call(0, { id: 'a', function: { name: 'f', arguments: '{}' } }),
      chunk({}, 'tool_calls'),
    ]);
    expect(replay(tools).stop_reason).toBe('tool_use');
    const refused = replay(encode([chunk({ refusal: 'I cannot.' }), chunk({}, 'stop')]));
    expect([refused.stop_reason, refused.content]).toEqual([
      'refusal',
      [{ type: 'text', text: 'I cannot.' }],
    ]);
  });

  it('reports only output tokens in message_delta when the upstream sent no usage', () => {
    const events = encode([chunk({ content: 'x' }), chunk({}, 'stop')]);
    expect(events.find((e) => e.type === 'message_delta')).toMatchObject({
      usage: { output_tokens: 0 },
    });
    expect(events.find((e) => e.type === 'message_delta')).not.toHaveProperty('usage.input_tokens');
  });

  it('writes an error event for a failure after the stream began, and nothing after it', () => {
    const encoder = new MessagesStreamEncoder({ model: 'm' });
    expect(encoder.push(chunk({ content: 'par' }))).toHaveLength(3);
    expect(encoder.fail(502, 'the upstream connection closed mid-answer')).toEqual([
      'event: error\ndata: {"type":"error","error":{"type":"api_error",' +
        '"message":"the upstream connection closed mid-answer"}}\n\n',
    ]);
    expect(encoder.push(chunk({ content: 'tial' }))).toEqual([]);
    expect(encoder.end()).toEqual([]);
  });

  it('answers an empty stream with a whole, empty message', () => {
    const message = replay(encode([]));
    expect(message).toMatchObject({ content: [], stop_reason: 'end_turn', id: 'msg_' });
  });
});
