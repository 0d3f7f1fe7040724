import { describe, expect, it } from 'vitest';
import type { ChatCompletion, ChatCompletionMessage } from '../../upstream/openai-types.js';
import { MessagesFormatError } from './errors.js';
import { fromChatCompletion, fromChatUsage, messageId } from './from-chat.js';

function completion(
  message: Partial<ChatCompletionMessage> & Record<string, unknown>,
  finish: ChatCompletion['choices'][number]['finish_reason'] = 'stop',
  choiceExtra: Record<string, unknown> = {},
): ChatCompletion {
  return {
    id: 'chatcmpl-abc123',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: null, refusal: null, ...message },
        finish_reason: finish,
        logprobs: null,
        ...choiceExtra,
      },
    ],
    usage: {
      prompt_tokens: 1200,
      completion_tokens: 40,
      total_tokens: 1240,
      prompt_tokens_details: { cached_tokens: 1024 },
    },
  };
}

const opts = { model: 'claude-sonnet-4-5' };

describe('fromChatCompletion', () => {
  it('answers a text completion as a Message', () => {
    expect(fromChatCompletion(completion({ content: 'Hello!' }), opts)).toEqual({
      id: 'msg_abc123',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'Hello!' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 176, output_tokens: 40, cache_read_input_tokens: 1024 },
    });
  });

  it('turns tool calls into tool_use blocks with their arguments parsed', () => {
    const message = fromChatCompletion(
      completion(
        {
          content: 'Reading both.',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'Read', arguments: '{"file_path":"/a"}' },
            },
            { id: 'call_2', type: 'function', function: { name: 'LS', arguments: '' } },
          ],
        },
        'tool_calls',
      ),
      opts,
    );
    expect(message.content).toEqual([
      { type: 'text', text: 'Reading both.' },
      { type: 'tool_use', id: 'call_1', name: 'Read', input: { file_path: '/a' } },
      { type: 'tool_use', id: 'call_2', name: 'LS', input: {} },
    ]);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('gives a tool call without an id one that is unique within the message', () => {
    const call = (name: string) => ({
      id: '',
      type: 'function' as const,
      function: { name, arguments: '{}' },
    });
    const message = fromChatCompletion(
      completion({ tool_calls: [call('a'), call('b')] }, 'tool_calls'),
      opts,
    );
    expect(message.content.map((b) => (b.type === 'tool_use' ? b.id : ''))).toEqual([
      'toolu_abc123_0',
      'toolu_abc123_1',
    ]);
  });

  it('fails clearly when tool call arguments are not a JSON object', () => {
    const bad = completion(
      {
        tool_calls: [
          { id: 'c', type: 'function', function: { name: 'Bash', arguments: '{"command":' } },
        ],
      },
      'tool_calls',
    );
    expect(() => fromChatCompletion(bad, opts)).toThrow(MessagesFormatError);
    expect(() => fromChatCompletion(bad, opts)).toThrow(
      "the upstream's tool call 0 (Bash) has arguments that are not a JSON object",
    );
    try {
      fromChatCompletion(bad, opts);
    } catch (err) {
      expect((err as MessagesFormatError).status).toBe(502);
      expect((err as MessagesFormatError).errorType).toBe('api_error');
    }
  });

  it.each([
    ['stop', {}, {}, 'end_turn', null],
    ['length', {}, {}, 'max_tokens', null],
    ['tool_calls', {}, {}, 'tool_use', null],
    ['function_call', {}, {}, 'tool_use', null],
    ['content_filter', {}, {}, 'refusal', null],
    ['stop', { stop_reason: '###' }, {}, 'stop_sequence', '###'],
    // Only a sequence the client asked for counts (vLLM also reports stop token ids).
    ['stop', { stop_reason: 'other' }, {}, 'end_turn', null],
    ['stop', {}, { refusal: 'I cannot help with that.' }, 'refusal', null],
  ] as const)(
    'maps finish_reason %s (%j, %j) to %s',
    (finish, choice, message, reason, sequence) => {
      const answer = fromChatCompletion(completion({ content: 'x', ...message }, finish, choice), {
        ...opts,
        stopSequences: ['###'],
      });
      expect([answer.stop_reason, answer.stop_sequence]).toEqual([reason, sequence]);
    },
  );

  it('reads tool calls that end with finish_reason stop as tool_use', () => {
    const answer = fromChatCompletion(
      completion({
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
      }),
      opts,
    );
    expect(answer.stop_reason).toBe('tool_use');
  });

  it('puts a refusal in a text block', () => {
    const answer = fromChatCompletion(completion({ refusal: 'No.' }), opts);
    expect(answer.content).toEqual([{ type: 'text', text: 'No.' }]);
  });

  it('shows reasoning as a thinking block only when the request enabled thinking', () => {
    const reasoned = completion({ content: '4', reasoning_content: '2 + 2 is 4' });
    expect(fromChatCompletion(reasoned, { ...opts, thinking: true }).content).toEqual([
      { type: 'thinking', thinking: '2 + 2 is 4', signature: '' },
      { type: 'text', text: '4' },
    ]);
    expect(fromChatCompletion(reasoned, opts).content).toEqual([{ type: 'text', text: '4' }]);
    const openRouter = completion({ content: '4', reasoning: 'adding' });
    expect(fromChatCompletion(openRouter, { ...opts, thinking: true }).content[0]).toEqual({
      type: 'thinking',
      thinking: 'adding',
      signature: '',
    });
  });

  it('answers an empty completion with no blocks, and a choiceless one with a 502', () => {
    expect(fromChatCompletion(completion({ content: '' }), opts).content).toEqual([]);
    const none = { ...completion({}), choices: [] };
    expect(() => fromChatCompletion(none, opts)).toThrow('the upstream answered without a choice');
  });
});

describe('fromChatUsage and messageId', () => {
  it('moves cached prompt tokens out of input_tokens, and reports none when unknown', () => {
    expect(fromChatUsage({ prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 })).toEqual({
      input_tokens: 10,
      output_tokens: 2,
    });
    expect(fromChatUsage(undefined)).toEqual({ input_tokens: 0, output_tokens: 0 });
  });

  it('makes msg_ ids from chat ids without doubling a msg_ prefix', () => {
    expect(messageId('chatcmpl-xyz')).toBe('msg_xyz');
    expect(messageId('chatcmpl-msg_01abc')).toBe('msg_01abc');
    expect(messageId('gen-123')).toBe('msg_gen-123');
  });
});
