import { describe, expect, it } from 'vitest';
import type { ChatCompletionRequest } from '../../upstream/openai-types.js';
import { ResponsesTranslationError } from './errors.js';
import { parseResponsesRequest } from './parse.js';
import { toChatRequest, type ToChatOptions } from './to-chat.js';
import type { InputItem } from './types.js';

/** The chat request for a raw Responses body (validated first, as the pipeline does). */
function chat(body: Record<string, unknown>, opts?: ToChatOptions): ChatCompletionRequest {
  return toChatRequest(parseResponsesRequest({ model: 'gpt-4o-mini', ...body }), opts);
}

function refusal(body: Record<string, unknown>, opts?: ToChatOptions): ResponsesTranslationError {
  try {
    chat(body, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ResponsesTranslationError);
    return err as ResponsesTranslationError;
  }
  throw new Error('expected a translation refusal');
}

describe('toChatRequest', () => {
  it('puts the instructions first as a system message, a string input as the user turn', () => {
    expect(chat({ instructions: 'Be brief.', input: 'Hi' })).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
    });
  });

  it('maps text, image and file parts of a user turn to chat parts', () => {
    const { messages } = chat({
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'Compare' },
            { type: 'input_image', image_url: 'https://x/a.png', detail: 'low' },
            { type: 'input_image', image_url: 'data:image/png;base64,AA', detail: 'original' },
            { type: 'input_file', file_data: 'data:application/pdf;base64,JV', filename: 'a.pdf' },
            { type: 'input_file', file_id: 'file-1' },
          ],
        },
      ],
    });
    expect(messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare' },
          { type: 'image_url', image_url: { url: 'https://x/a.png', detail: 'low' } },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AA', detail: 'high' } },
          {
            type: 'file',
            file: { file_data: 'data:application/pdf;base64,JV', filename: 'a.pdf' },
          },
          { type: 'file', file: { file_id: 'file-1' } },
        ],
      },
    ]);
  });

  it('joins function calls to the assistant message before them, outputs become tool turns', () => {
    const { messages } = chat({
      input: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        {
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Checking.', annotations: [] }],
        },
        { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'c2', name: 'weather', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'c1', output: '21C' },
        {
          type: 'function_call_output',
          call_id: 'c2',
          output: [{ type: 'input_text', text: '25C' }],
        },
        { type: 'function_call', call_id: 'c3', name: 'weather', arguments: '{}' },
      ],
    });
    const call = (id: string, args: string) => ({
      id,
      type: 'function',
      function: { name: 'weather', arguments: args },
    });
    expect(messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: [{ type: 'text', text: 'Checking.' }],
        tool_calls: [call('c1', '{"city":"Paris"}'), call('c2', '{"city":"Rome"}')],
      },
      { role: 'tool', tool_call_id: 'c1', content: '21C' },
      { role: 'tool', tool_call_id: 'c2', content: [{ type: 'text', text: '25C' }] },
      { role: 'assistant', content: null, tool_calls: [call('c3', '{}')] },
    ]);
  });

  it('carries an assistant refusal in the refusal field', () => {
    const { messages } = chat({
      input: [{ role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot.' }] }],
    });
    expect(messages).toEqual([{ role: 'assistant', content: null, refusal: 'I cannot.' }]);
  });

  it('puts the expanded earlier conversation before this input, after the instructions', () => {
    const prior: InputItem[] = [
      { role: 'user', content: 'My name is Ada.' },
      {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Hello Ada.', annotations: [] }],
      },
    ];
    const { messages } = chat(
      { instructions: 'Be kind.', input: 'What is my name?', previous_response_id: 'resp_1' },
      { prior, model: 'upstream-model' },
    );
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(chat({ input: 'x' }, { model: 'upstream-model' }).model).toBe('upstream-model');
  });

  it('maps tools, tool_choice, text.format and the sampling fields', () => {
    const out = chat({
      input: 'x',
      tools: [
        {
          type: 'function',
          name: 'weather',
          description: 'Weather now',
          parameters: { type: 'object' },
          strict: true,
        },
        { type: 'function', name: 'bare', description: null, parameters: null },
      ],
      tool_choice: { type: 'function', name: 'weather' },
      text: {
        format: { type: 'json_schema', name: 'a', schema: { type: 'object' }, strict: true },
        verbosity: 'low',
      },
      max_output_tokens: 100,
      temperature: 0.5,
      top_p: 0.9,
      parallel_tool_calls: false,
      reasoning: { effort: 'high', summary: 'auto' },
      user: 'u1',
      metadata: { a: 'b' },
      store: true,
      truncation: 'auto',
    });
    expect(out).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'weather',
            description: 'Weather now',
            parameters: { type: 'object' },
            strict: true,
          },
        },
        { type: 'function', function: { name: 'bare' } },
      ],
      tool_choice: { type: 'function', function: { name: 'weather' } },
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'a', schema: { type: 'object' }, strict: true },
      },
      max_completion_tokens: 100,
      temperature: 0.5,
      top_p: 0.9,
      parallel_tool_calls: false,
      reasoning_effort: 'high',
      user: 'u1',
    });
  });

  it('maps json_object, leaves the text format out, and passes the tool_choice modes', () => {
    expect(chat({ input: 'x', text: { format: { type: 'json_object' } } }).response_format).toEqual(
      { type: 'json_object' },
    );
    expect(chat({ input: 'x', text: { format: { type: 'text' } } })).not.toHaveProperty(
      'response_format',
    );
    for (const mode of ['auto', 'none', 'required'] as const) {
      expect(chat({ input: 'x', tool_choice: mode }).tool_choice).toBe(mode);
    }
  });

  it('streams with usage, so the final event can report it', () => {
    expect(chat({ input: 'x', stream: true })).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(chat({ input: 'x', stream: false })).not.toHaveProperty('stream');
  });
});

describe('what toChatRequest refuses, naming the param', () => {
  it('refuses a built-in tool as such, so the caller can pick a native provider', () => {
    const err = refusal({
      input: 'x',
      tools: [{ type: 'function', name: 'f' }, { type: 'web_search' }],
    });
    expect(err.param).toBe('tools[1].type');
    expect(err.builtinTool).toBe(true);
    expect(err.message).toContain("built-in tool 'web_search'");
    const forced = refusal({ input: 'x', tool_choice: { type: 'file_search' } });
    expect(forced).toMatchObject({ param: 'tool_choice.type', builtinTool: true });
  });

  it.each([
    [
      'another tool type',
      { input: 'x', tools: [{ type: 'mcp', server_label: 's' }] },
      'tools[0].type',
    ],
    [
      'an item chat has no form for',
      { input: [{ type: 'web_search_call', id: 'ws_1' }] },
      'input[0].type',
    ],
    [
      'an image by file id',
      { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }] },
      'input[0].content[0].file_id',
    ],
    [
      'a file by url',
      { input: [{ role: 'user', content: [{ type: 'input_file', file_url: 'https://x/a.pdf' }] }] },
      'input[0].content[0].file_url',
    ],
    [
      'an image in a system message',
      {
        input: [
          { role: 'system', content: [{ type: 'input_image', image_url: 'https://x/a.png' }] },
        ],
      },
      'input[0].content[0].type',
    ],
    [
      'an image returned by a function',
      {
        input: [
          {
            type: 'function_call_output',
            call_id: 'c',
            output: [{ type: 'input_image', image_url: 'https://x/a.png' }],
          },
        ],
      },
      'input[0].output[0].type',
    ],
    [
      'an allowed_tools choice',
      { input: 'x', tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [] } },
      'tool_choice.type',
    ],
  ])('refuses %s (%s)', (_name, body, param) => {
    const err = refusal(body);
    expect(err).toMatchObject({ param, builtinTool: false });
    expect(err.message).toContain('natively serves the Responses API');
  });

  it('names previous_response_id when the earlier conversation cannot be carried', () => {
    const prior: InputItem[] = [{ type: 'web_search_call', id: 'ws_1', status: 'completed' }];
    expect(refusal({ input: 'x', previous_response_id: 'resp_1' }, { prior }).param).toBe(
      'previous_response_id',
    );
  });
});
