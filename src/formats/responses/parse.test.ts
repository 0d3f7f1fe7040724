import { describe, expect, it } from 'vitest';
import { ResponsesRequestError } from './errors.js';
import { builtinToolParams, isBuiltinTool, parseResponsesRequest } from './parse.js';

/** The error parse throws for `body`, as OpenAI's error fields. */
function refusal(body: unknown): { param: string | null; code: string; message: string } {
  try {
    parseResponsesRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ResponsesRequestError);
    const e = err as ResponsesRequestError;
    return { param: e.param, code: e.openaiCode, message: e.message };
  }
  throw new Error('expected the request to be refused');
}

const AGENT_TURN = {
  model: 'gpt-4o-mini',
  instructions: 'You are terse.',
  input: [
    { role: 'user', content: 'What is the weather in Paris?' },
    {
      type: 'message',
      role: 'user',
      content: [
        { type: 'input_text', text: 'and this picture?' },
        { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'low' },
        { type: 'input_file', file_id: 'file-1' },
      ],
    },
    { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'thinking' }] },
    {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: 'Let me look.', annotations: [] }],
    },
    { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
    { type: 'function_call_output', call_id: 'call_1', output: '{"temp":21}' },
  ],
  tools: [
    { type: 'function', name: 'weather', parameters: { type: 'object' }, strict: true },
    { type: 'web_search_preview' },
  ],
  tool_choice: { type: 'function', name: 'weather' },
  text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' } } },
  max_output_tokens: 256,
  temperature: 0.2,
  top_p: 0.9,
  reasoning: { effort: 'low', summary: 'auto' },
  parallel_tool_calls: false,
  metadata: { ticket: 'T-1' },
  previous_response_id: 'resp_abc',
  stream: true,
  user: 'u-1',
  include: ['reasoning.encrypted_content'],
};

describe('parseResponsesRequest', () => {
  it('takes an agent turn with every item kind, keeping fields it does not read', () => {
    const request = parseResponsesRequest(AGENT_TURN);
    expect(request).toEqual({ ...AGENT_TURN, store: true });
  });

  it('takes a bare string input and defaults store to true, as the API does', () => {
    expect(parseResponsesRequest({ model: 'm', input: 'hi' })).toEqual({
      model: 'm',
      input: 'hi',
      store: true,
    });
    expect(parseResponsesRequest({ model: 'm', input: 'hi', store: false }).store).toBe(false);
  });

  it('passes item, part and tool types it does not know, for a native upstream to judge', () => {
    const body = {
      model: 'm',
      input: [
        { type: 'item_reference', id: 'msg_9' },
        { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA' } }] },
      ],
      tools: [{ type: 'mcp', server_label: 'x' }],
      tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [] },
    };
    expect(parseResponsesRequest(body)).toEqual({ ...body, store: true });
  });

  it.each([
    ['a missing model', { input: 'x' }, 'model', 'missing_required_parameter'],
    ['a missing input', { model: 'm' }, 'input', 'missing_required_parameter'],
    ['a numeric input', { model: 'm', input: 3 }, 'input', 'invalid_type'],
    [
      'an unknown role',
      { model: 'm', input: [{ role: 'robot', content: 'x' }] },
      'input[0].role',
      'invalid_value',
    ],
    [
      'an input part in an assistant turn',
      { model: 'm', input: [{ role: 'assistant', content: [{ type: 'input_text', text: 'x' }] }] },
      'input[0].content[0].type',
      'invalid_value',
    ],
    [
      'an output part in a user turn',
      { model: 'm', input: [{ role: 'user', content: [{ type: 'output_text', text: 'x' }] }] },
      'input[0].content[0].type',
      'invalid_value',
    ],
    [
      'an image with no source',
      { model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', detail: 'low' }] }] },
      'input[0].content[0]',
      'missing_required_parameter',
    ],
    [
      'a function call without a call_id',
      { model: 'm', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] },
      'input[0].call_id',
      'missing_required_parameter',
    ],
    [
      'a function output that is a number',
      { model: 'm', input: [{ type: 'function_call_output', call_id: 'c', output: 7 }] },
      'input[0].output',
      'invalid_type',
    ],
    [
      'a function tool without a name',
      { model: 'm', input: 'x', tools: [{ type: 'function', parameters: {} }] },
      'tools[0].name',
      'missing_required_parameter',
    ],
    [
      'a tool choice that is not a mode',
      { model: 'm', input: 'x', tool_choice: 'always' },
      'tool_choice',
      'invalid_value',
    ],
    [
      'a forced function without its name',
      { model: 'm', input: 'x', tool_choice: { type: 'function' } },
      'tool_choice.name',
      'missing_required_parameter',
    ],
    [
      'a text format of an unknown type',
      { model: 'm', input: 'x', text: { format: { type: 'yaml' } } },
      'text.format.type',
      'invalid_value',
    ],
    [
      'a json_schema format without a schema',
      { model: 'm', input: 'x', text: { format: { type: 'json_schema', name: 'n' } } },
      'text.format.schema',
      'missing_required_parameter',
    ],
    [
      'a temperature above 2',
      { model: 'm', input: 'x', temperature: 3 },
      'temperature',
      'decimal_above_max_value',
    ],
    [
      'max_output_tokens under the floor of 16',
      { model: 'm', input: 'x', max_output_tokens: 5 },
      'max_output_tokens',
      'decimal_below_min_value',
    ],
    ['a string for stream', { model: 'm', input: 'x', stream: 'yes' }, 'stream', 'invalid_type'],
    [
      'a metadata key over 64 characters',
      { model: 'm', input: 'x', metadata: { ['k'.repeat(65)]: 'v' } },
      'metadata',
      'invalid_value',
    ],
  ])('refuses %s, naming %s', (_name, body, param, code) => {
    expect(refusal(body)).toMatchObject({ param, code });
  });

  it('words its refusals as OpenAI does, saying what to fix', () => {
    expect(refusal({ input: 'x' }).message).toBe("Missing required parameter: 'model'.");
    expect(refusal({ model: 'm', input: [{ role: 'robot', content: 'x' }] }).message).toBe(
      "Invalid value: 'robot'. Supported values are: 'user', 'assistant', 'system', and 'developer'.",
    );
    expect(refusal({ model: 'm', input: 3 }).message).toBe(
      "Invalid type for 'input': expected a string or an array, but got a number instead.",
    );
    expect(
      refusal({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_file' }] }] }).message,
    ).toBe(
      "Invalid 'input[0].content[0]': an input_file part needs one of 'file_data', 'file_id', and 'file_url'.",
    );
  });

  it('refuses a body that is not an object', () => {
    expect(refusal(['model'])).toMatchObject({ param: null, code: 'invalid_type' });
  });
});

describe('built-in tools', () => {
  it('recognises the hosted tool families, dated variants included', () => {
    for (const type of [
      'web_search',
      'web_search_preview',
      'web_search_preview_2025_03_11',
      'file_search',
      'code_interpreter',
      'computer_use_preview',
      'computer',
    ]) {
      expect(isBuiltinTool(type), type).toBe(true);
    }
    expect(isBuiltinTool('function')).toBe(false);
    expect(isBuiltinTool('mcp')).toBe(false);
  });

  it('names each built-in tool of a request by its param', () => {
    const request = parseResponsesRequest(AGENT_TURN);
    expect(builtinToolParams(request)).toEqual(['tools[1].type']);
  });
});
