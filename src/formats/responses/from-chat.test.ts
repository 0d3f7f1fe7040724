import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { ChatCompletion } from '../../upstream/openai-types.js';
import { fromChatCompletion } from './from-chat.js';
import { parseResponsesRequest } from './parse.js';
import { randomIds, type NewId } from './response.js';

/** Counting ids: resp_1, msg_2, fc_3, ... in the order they are asked for. */
function counter(): NewId {
  let n = 0;
  return (kind) => `${kind}_${++n}`;
}

const NOW = 1_767_874_700;

function completion(
  message: Partial<ChatCompletion['choices'][number]['message']>,
  finish: ChatCompletion['choices'][number]['finish_reason'] = 'stop',
): ChatCompletion {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1_767_874_658,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: null, refusal: null, ...message },
        finish_reason: finish,
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: 11,
      completion_tokens: 18,
      total_tokens: 29,
      prompt_tokens_details: { cached_tokens: 3 },
    },
  };
}

const REQUEST = parseResponsesRequest({ model: 'gpt-4o-mini', input: 'tell me a joke' });

describe('fromChatCompletion', () => {
  it('answers text as the API does: one completed message, the request echoed with defaults', () => {
    const response = fromChatCompletion(completion({ content: 'Why did...' }), REQUEST, {
      ids: counter(),
      now: NOW,
    });
    // The field set and defaults of a real answer to this request (captured from the API).
    expect(response).toEqual({
      id: 'resp_1',
      object: 'response',
      created_at: 1_767_874_658,
      status: 'completed',
      background: false,
      completed_at: NOW,
      error: null,
      incomplete_details: null,
      instructions: null,
      max_output_tokens: null,
      max_tool_calls: null,
      model: 'gpt-4o-mini-2024-07-18',
      output: [
        {
          id: 'msg_2',
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Why did...', annotations: [], logprobs: [] }],
        },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: true,
      temperature: 1,
      text: { format: { type: 'text' }, verbosity: 'medium' },
      tool_choice: 'auto',
      tools: [],
      top_logprobs: 0,
      top_p: 1,
      truncation: 'disabled',
      usage: {
        input_tokens: 11,
        input_tokens_details: { cached_tokens: 3, cache_write_tokens: 0 },
        output_tokens: 18,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 29,
      },
      user: null,
      metadata: {},
    });
    expect(response).not.toHaveProperty('output_text');
  });

  it('makes each tool call a function_call item after the text', () => {
    const call = (id: string, name: string) => ({
      id,
      type: 'function' as const,
      function: { name, arguments: '{"city":"Paris"}' },
    });
    const { output } = fromChatCompletion(
      completion(
        { content: 'Looking.', tool_calls: [call('call_a', 'weather'), call('call_b', 'time')] },
        'tool_calls',
      ),
      REQUEST,
      { ids: counter(), now: NOW },
    );
    expect(output.map((item) => item.type)).toEqual(['message', 'function_call', 'function_call']);
    expect(output[1]).toEqual({
      id: 'fc_3',
      type: 'function_call',
      status: 'completed',
      call_id: 'call_a',
      name: 'weather',
      arguments: '{"city":"Paris"}',
    });
    expect(output[2]).toMatchObject({ id: 'fc_4', call_id: 'call_b', name: 'time' });
  });

  it('has no message item when the answer is only tool calls', () => {
    const { output } = fromChatCompletion(
      completion(
        { tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        'tool_calls',
      ),
      REQUEST,
      { ids: counter(), now: NOW },
    );
    expect(output.map((item) => item.type)).toEqual(['function_call']);
  });

  it('carries a refusal as a refusal part', () => {
    const { output } = fromChatCompletion(completion({ refusal: 'I cannot help.' }), REQUEST, {
      ids: counter(),
      now: NOW,
    });
    expect(output).toEqual([
      expect.objectContaining({ content: [{ type: 'refusal', refusal: 'I cannot help.' }] }),
    ]);
  });

  it.each([
    ['length', 'max_output_tokens'],
    ['content_filter', 'content_filter'],
  ] as const)('is incomplete when the chat finish reason is %s', (finish, reason) => {
    const response = fromChatCompletion(completion({ content: 'Once upon' }, finish), REQUEST, {
      ids: counter(),
      now: NOW,
    });
    expect(response).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason },
      completed_at: null,
      output: [{ status: 'incomplete' }],
    });
  });

  it('echoes what the request set: instructions, tools, choice, format, sampling, metadata', () => {
    const req = parseResponsesRequest({
      model: 'm',
      input: 'x',
      instructions: 'Be brief.',
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }],
      tool_choice: 'required',
      text: { format: { type: 'json_object' }, verbosity: 'low' },
      max_output_tokens: 64,
      temperature: 0.3,
      top_p: 0.5,
      parallel_tool_calls: false,
      reasoning: { effort: 'low' },
      metadata: { k: 'v' },
      store: false,
      previous_response_id: 'resp_0',
      truncation: 'auto',
      user: 'u',
    });
    const response = fromChatCompletion(completion({ content: '{}' }), req, {
      ids: counter(),
      now: NOW,
    });
    expect(response).toMatchObject({
      instructions: 'Be brief.',
      tools: [
        {
          type: 'function',
          name: 'f',
          description: null,
          parameters: { type: 'object' },
          strict: null,
        },
      ],
      tool_choice: 'required',
      text: { format: { type: 'json_object' }, verbosity: 'low' },
      max_output_tokens: 64,
      temperature: 0.3,
      top_p: 0.5,
      parallel_tool_calls: false,
      reasoning: { effort: 'low', summary: null },
      metadata: { k: 'v' },
      store: false,
      previous_response_id: 'resp_0',
      truncation: 'auto',
      user: 'u',
    });
  });

  it('reports usage as null when the upstream reported none', () => {
    const { usage: _omitted, ...bare } = completion({ content: 'x' });
    expect(fromChatCompletion(bare, REQUEST, { ids: counter(), now: NOW }).usage).toBeNull();
  });

  // The fields the response builds itself (the echoed request fields are the client's own,
  // typed loosely on purpose: see types.ts).
  it('builds what the official SDK types describe', () => {
    const response = fromChatCompletion(completion({ content: 'x' }), REQUEST, {
      ids: randomIds,
      now: NOW,
    });
    const sdk: Pick<
      OpenAI.Responses.Response,
      'id' | 'object' | 'created_at' | 'status' | 'error' | 'incomplete_details' | 'model'
    > &
      Pick<OpenAI.Responses.Response, 'output' | 'parallel_tool_calls' | 'text' | 'truncation'> & {
        usage: OpenAI.Responses.ResponseUsage | null;
      } = response;
    expect(sdk.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(sdk.output[0]?.id).toMatch(/^msg_[0-9a-f]{48}$/);
  });
});
