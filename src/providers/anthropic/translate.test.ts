import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionRequest, ChatMessage } from '../../upstream/openai-types.js';
import { fromAnthropicResponse } from './response.js';
import { toAnthropicRequest, TranslationError } from './translate.js';
import type { AnthropicMessage, AnthropicMessagesRequest } from './types.js';

const OPTS = { model: 'claude-upstream', maxTokensDefault: 1024 };
const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } } },
  },
};
const CALL = {
  id: 'toolu_01',
  type: 'function' as const,
  function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
};

function request(messages: ChatMessage[], extra: Partial<ChatCompletionRequest> = {}) {
  return { model: 'claude', messages, ...extra };
}

describe('toAnthropicRequest', () => {
  const cases: {
    name: string;
    req: ChatCompletionRequest;
    expected: Partial<AnthropicMessagesRequest>;
  }[] = [
    {
      name: 'hoists system and developer messages into one system prompt',
      req: request([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
      ]),
      expected: {
        system: 'Be brief.\n\nAnswer in French.',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      },
    },
    {
      name: 'merges consecutive same-role messages, since Anthropic requires alternation',
      req: request([
        { role: 'user', content: 'One' },
        { role: 'user', content: [{ type: 'text', text: 'Two' }] },
        { role: 'assistant', content: 'A' },
        { role: 'assistant', content: 'B' },
        { role: 'user', content: 'Three' },
      ]),
      expected: {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'One' },
              { type: 'text', text: 'Two' },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'A' },
              { type: 'text', text: 'B' },
            ],
          },
          { role: 'user', content: [{ type: 'text', text: 'Three' }] },
        ],
      },
    },
    {
      name: 'drops empty text, and a message left empty, before merging',
      req: request([
        { role: 'user', content: 'Q' },
        { role: 'assistant', content: '' },
        {
          role: 'user',
          content: [
            { type: 'text', text: '' },
            { type: 'text', text: 'Q2' },
          ],
        },
      ]),
      expected: {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Q' },
              { type: 'text', text: 'Q2' },
            ],
          },
        ],
      },
    },
    {
      name: 'turns data: URLs into base64 images and http URLs into url images',
      req: request([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ]),
      expected: {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Compare' },
              {
                type: 'image',
                source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
              },
              { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
            ],
          },
        ],
      },
    },
    {
      name: 'sends tool calls as tool_use and tool messages as leading tool_result blocks',
      req: request(
        [
          { role: 'user', content: 'Weather in Paris and Rome?' },
          {
            role: 'assistant',
            content: 'Checking.',
            tool_calls: [
              CALL,
              { id: 'toolu_02', type: 'function', function: { name: 'now', arguments: '' } },
            ],
          },
          { role: 'tool', tool_call_id: 'toolu_01', content: '18C' },
          { role: 'tool', tool_call_id: 'toolu_02', content: [{ type: 'text', text: '12:00' }] },
          { role: 'user', content: 'Thanks' },
        ],
        { tools: [WEATHER_TOOL] },
      ),
      expected: {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Checking.' },
              { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
              { type: 'tool_use', id: 'toolu_02', name: 'now', input: {} },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_01', content: '18C' },
              {
                type: 'tool_result',
                tool_use_id: 'toolu_02',
                content: [{ type: 'text', text: '12:00' }],
              },
              { type: 'text', text: 'Thanks' },
            ],
          },
        ],
      },
    },
    {
      name: 'moves tool results ahead of user text that preceded them',
      req: request([
        { role: 'assistant', content: null, tool_calls: [CALL] },
        { role: 'user', content: 'Here you go' },
        { role: 'tool', tool_call_id: 'toolu_01', content: '18C' },
      ]),
      expected: {
        messages: [
          {
            role: 'assistant',
            content: [
              { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_01', content: '18C' },
              { type: 'text', text: 'Here you go' },
            ],
          },
        ],
      },
    },
    {
      name: 'maps tools to input_schema, defaulting a missing schema to an empty object',
      req: request([{ role: 'user', content: 'x' }], {
        tools: [WEATHER_TOOL, { type: 'function', function: { name: 'ping' } }],
      }),
      expected: {
        tools: [
          {
            name: 'get_weather',
            description: 'Current weather',
            input_schema: WEATHER_TOOL.function.parameters,
          },
          { name: 'ping', input_schema: { type: 'object', properties: {} } },
        ],
      },
    },
    {
      name: 'prefers max_completion_tokens, then max_tokens, then the default',
      req: request([{ role: 'user', content: 'x' }], { max_completion_tokens: 50, max_tokens: 99 }),
      expected: { max_tokens: 50 },
    },
    {
      name: 'uses max_tokens when max_completion_tokens is absent',
      req: request([{ role: 'user', content: 'x' }], { max_tokens: 99 }),
      expected: { max_tokens: 99 },
    },
    {
      name: "clamps a temperature above Anthropic's maximum of 1 (OpenAI allows up to 2)",
      req: request([{ role: 'user', content: 'x' }], { temperature: 1.7 }),
      expected: { temperature: 1 },
    },
    {
      name: 'passes sampling, stop, stream and user through under Anthropic names',
      req: request([{ role: 'user', content: 'x' }], {
        temperature: 0.5,
        stop: 'END',
        stream: true,
        user: 'user-42',
      }),
      expected: {
        temperature: 0.5,
        stop_sequences: ['END'],
        stream: true,
        metadata: { user_id: 'user-42' },
      },
    },
  ];

  it.each(cases)('$name', ({ req, expected }) => {
    expect(toAnthropicRequest(req, OPTS)).toMatchObject(expected);
  });

  it('builds exactly the required fields for a minimal request, dropping OpenAI-only knobs', () => {
    const req = request([{ role: 'user', content: 'Hi' }], {
      seed: 1,
      presence_penalty: 0.1,
      frequency_penalty: 0.1,
      logit_bias: { '42': 1 },
      temperature: null,
      stop: null,
      n: 1,
    });
    expect(toAnthropicRequest(req, OPTS)).toEqual({
      model: 'claude-upstream',
      max_tokens: 1024,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
    });
  });

  it('keeps a stop list as stop_sequences', () => {
    const out = toAnthropicRequest(
      request([{ role: 'user', content: 'x' }], { stop: ['a', 'b'] }),
      OPTS,
    );
    expect(out.stop_sequences).toEqual(['a', 'b']);
  });

  describe('tool_choice', () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [CALL] },
      { role: 'tool', tool_call_id: 'toolu_01', content: '18C' },
    ];
    const choices: {
      name: string;
      extra: Partial<ChatCompletionRequest>;
      messages?: ChatMessage[];
      tools: boolean;
      choice: AnthropicMessagesRequest['tool_choice'];
    }[] = [
      { name: 'absent sends tools without a choice', extra: {}, tools: true, choice: undefined },
      {
        name: "'auto' is auto",
        extra: { tool_choice: 'auto' },
        tools: true,
        choice: { type: 'auto' },
      },
      {
        name: "'required' is any",
        extra: { tool_choice: 'required' },
        tools: true,
        choice: { type: 'any' },
      },
      {
        name: 'a named function is that tool',
        extra: { tool_choice: { type: 'function', function: { name: 'get_weather' } } },
        tools: true,
        choice: { type: 'tool', name: 'get_weather' },
      },
      {
        name: "'none' omits the tools",
        extra: { tool_choice: 'none' },
        tools: false,
        choice: undefined,
      },
      {
        name: "'none' with tool blocks in the history keeps tools and says none",
        extra: { tool_choice: 'none' },
        messages: history,
        tools: true,
        choice: { type: 'none' },
      },
      {
        name: 'parallel_tool_calls: false disables parallel use',
        extra: { tool_choice: 'required', parallel_tool_calls: false },
        tools: true,
        choice: { type: 'any', disable_parallel_tool_use: true },
      },
      {
        name: 'parallel_tool_calls: false without a choice is auto without parallel use',
        extra: { parallel_tool_calls: false },
        tools: true,
        choice: { type: 'auto', disable_parallel_tool_use: true },
      },
    ];
    it.each(choices)('$name', ({ extra, messages, tools, choice }) => {
      const req = request(messages ?? [{ role: 'user', content: 'x' }], {
        tools: [WEATHER_TOOL],
        ...extra,
      });
      const out = toAnthropicRequest(req, OPTS);
      expect(out.tools !== undefined).toBe(tools);
      expect(out.tool_choice).toEqual(choice);
    });
  });

  describe('repairs what the Messages API would refuse with a 400', () => {
    const toolHistory: ChatMessage[] = [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [CALL] },
      { role: 'tool', tool_call_id: CALL.id, content: '21C' },
    ];

    it('sends temperature alone when both it and top_p are set; top_p alone passes', () => {
      const both = toAnthropicRequest(
        request([{ role: 'user', content: 'x' }], { temperature: 0.2, top_p: 0.9 }),
        OPTS,
      );
      expect(both.temperature).toBe(0.2);
      expect(both).not.toHaveProperty('top_p');
      const topP = toAnthropicRequest(
        request([{ role: 'user', content: 'x' }], { top_p: 0.9 }),
        OPTS,
      );
      expect(topP.top_p).toBe(0.9);
    });

    it('leaves whitespace-only stop sequences out', () => {
      const out = toAnthropicRequest(
        request([{ role: 'user', content: 'x' }], { stop: ['\n', 'END', ' \t'] }),
        OPTS,
      );
      expect(out.stop_sequences).toEqual(['END']);
      const none = toAnthropicRequest(
        request([{ role: 'user', content: 'x' }], { stop: '\n' }),
        OPTS,
      );
      expect(none).not.toHaveProperty('stop_sequences');
    });

    it('drops whitespace-only text: system parts, user text and parts', () => {
      const out = toAnthropicRequest(
        request([
          { role: 'system', content: [{ type: 'text', text: '  ' }] },
          { role: 'user', content: ' \n ' },
          {
            role: 'user',
            content: [
              { type: 'text', text: '\t' },
              { type: 'text', text: 'hello' },
            ],
          },
        ]),
        OPTS,
      );
      expect(out).not.toHaveProperty('system');
      expect(out.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hello' }] }]);
    });

    it('trims the trailing whitespace of a final assistant turn, dropping it if nothing is left', () => {
      const prefill = toAnthropicRequest(
        request([
          { role: 'user', content: 'list' },
          { role: 'assistant', content: 'Sure: ' },
        ]),
        OPTS,
      );
      expect(prefill.messages.at(-1)).toEqual({
        role: 'assistant',
        content: [{ type: 'text', text: 'Sure:' }],
      });
      const blank = toAnthropicRequest(
        request([
          { role: 'user', content: 'list' },
          { role: 'assistant', content: [{ type: 'text', text: 'Sure' }] },
          { role: 'assistant', content: null, tool_calls: [CALL] },
        ]),
        OPTS,
      );
      expect(blank.messages.at(-1)?.content.at(-1)).toMatchObject({ type: 'tool_use' });
    });

    it('defines stand-in tools, never to be called, for a tool history sent without tools', () => {
      const out = toAnthropicRequest(request(toolHistory), OPTS);
      expect(out.tools).toEqual([
        {
          name: 'get_weather',
          description: expect.stringMatching(/not available/) as unknown,
          input_schema: { type: 'object', properties: {} },
        },
      ]);
      expect(out.tool_choice).toEqual({ type: 'none' });
    });

    it("makes other providers' tool ids valid, the same way in tool_use and tool_result", () => {
      const id = 'functions.get_weather:0';
      const out = toAnthropicRequest(
        request([
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: null, tool_calls: [{ ...CALL, id }] },
          { role: 'tool', tool_call_id: id, content: '21C' },
        ]),
        OPTS,
      );
      expect(out.messages[1]?.content[0]).toMatchObject({ id: 'functions_get_weather_0' });
      expect(out.messages[2]?.content[0]).toMatchObject({ tool_use_id: 'functions_get_weather_0' });
    });

    it('sends a user id that is an email, a phone number or too long as its SHA-256', () => {
      const idOf = (user: string) =>
        toAnthropicRequest(request([{ role: 'user', content: 'x' }], { user }), OPTS).metadata
          ?.user_id;
      expect(idOf('user-42')).toBe('user-42');
      for (const personal of ['ada@example.com', '+1 (555) 010-9999', 'u'.repeat(257)]) {
        expect(idOf(personal)).toMatch(/^[0-9a-f]{64}$/);
        expect(idOf(personal)).toBe(idOf(personal));
      }
    });
  });

  describe('response_format, as one forced tool whose input is the answer', () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } } };

    it('asks for a json_schema answer through the json_response tool', () => {
      const out = toAnthropicRequest(
        request([{ role: 'user', content: 'x' }], {
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'place', description: 'a city', schema, strict: true },
          },
        }),
        OPTS,
      );
      expect(out.tools).toEqual([
        {
          name: 'json_response',
          description: expect.stringMatching(/place: a city/) as unknown,
          input_schema: schema,
        },
      ]);
      expect(out.tool_choice).toEqual({ type: 'tool', name: 'json_response' });
    });

    it('asks for any object for json_object, and nothing for text', () => {
      const json = toAnthropicRequest(
        request([{ role: 'user', content: 'x' }], { response_format: { type: 'json_object' } }),
        OPTS,
      );
      expect(json.tools?.[0]?.input_schema).toEqual({ type: 'object' });
      const text = toAnthropicRequest(
        request([{ role: 'user', content: 'x' }], { response_format: { type: 'text' } }),
        OPTS,
      );
      expect(text).not.toHaveProperty('tools');
    });

    it.each([
      ['with tools', { tools: [WEATHER_TOOL] }, 'response_format'],
      [
        'with a root that is not an object',
        {
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'n', schema: { type: 'array' } },
          },
        },
        'response_format.json_schema.schema',
      ],
      ['of an unknown type', { response_format: { type: 'yaml' } }, 'response_format'],
    ])('is a 400 %s', (_name, extra, param) => {
      const req = request([{ role: 'user', content: 'x' }], {
        response_format: { type: 'json_object' },
        ...extra,
      } as Partial<ChatCompletionRequest>);
      expect(catchError(() => toAnthropicRequest(req, OPTS))).toMatchObject({ param });
    });
  });

  it('reads null tools and tool_choice as absent', () => {
    const out = toAnthropicRequest(
      request([{ role: 'user', content: 'x' }], { tools: null, tool_choice: null }),
      OPTS,
    );
    expect(out).not.toHaveProperty('tools');
    expect(out).not.toHaveProperty('tool_choice');
  });

  describe('rejects what Anthropic cannot do, naming the parameter', () => {
    const errors: { name: string; req: ChatCompletionRequest; param: string; message: RegExp }[] = [
      {
        name: 'n > 1',
        req: request([{ role: 'user', content: 'x' }], { n: 2 }),
        param: 'n',
        message: /not supported/,
      },
      {
        name: 'tool call arguments that are not JSON',
        req: request([
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ ...CALL, function: { name: 'f', arguments: '{"city":' } }],
          },
        ]),
        param: 'messages[0].tool_calls[0].function.arguments',
        message: /not valid JSON/,
      },
      {
        name: 'tool call arguments that are JSON but not an object',
        req: request([
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ ...CALL, function: { name: 'f', arguments: '[1]' } }],
          },
        ]),
        param: 'messages[0].tool_calls[0].function.arguments',
        message: /must be a JSON object/,
      },
      {
        name: 'a data: URL that is not base64',
        req: request([
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'data:image/svg+xml,<svg/>' } }],
          },
        ]),
        param: 'messages[0].content[0].image_url.url',
        message: /base64/,
      },
      {
        name: 'an image URL of another scheme',
        req: request([
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }],
          },
        ]),
        param: 'messages[0].content[0].image_url.url',
        message: /http/,
      },
      {
        name: 'system messages only',
        req: request([
          { role: 'system', content: 'be brief' },
          { role: 'user', content: '   ' },
        ]),
        param: 'messages',
        message: /at least one user or assistant message/,
      },
      {
        name: 'a custom tool_choice',
        req: request([{ role: 'user', content: 'x' }], {
          tools: [WEATHER_TOOL],
          tool_choice: { type: 'custom', custom: { name: 'g' } } as never,
        }),
        param: 'tool_choice',
        message: /must be 'auto', 'none', 'required' or a function/,
      },
      {
        name: 'legacy functions',
        req: request([{ role: 'user', content: 'x' }], {
          functions: [{ name: 'f', parameters: { type: 'object' } }],
        }),
        param: 'functions',
        message: /send them as tools/,
      },
      {
        name: 'a forced tool choice without tools',
        req: request([{ role: 'user', content: 'x' }], { tool_choice: 'required' }),
        param: 'tool_choice',
        message: /requires tools/,
      },
    ];
    it.each(errors)('$name', ({ req, param, message }) => {
      const err = catchError(() => toAnthropicRequest(req, OPTS));
      expect(err).toBeInstanceOf(TranslationError);
      expect(err).toMatchObject({ code: 'LLMP_TRANSLATION', param });
      expect((err as Error).message).toMatch(message);
    });
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function anthropicMessage(over: Partial<AnthropicMessage> = {}): AnthropicMessage {
  return {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    model: 'claude-upstream',
    content: [{ type: 'text', text: 'Hello' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 5 },
    ...over,
  };
}

describe('fromAnthropicResponse', () => {
  it('builds a chat.completion with a prefixed id, the request model and unix seconds', () => {
    const out: OpenAI.ChatCompletion = fromAnthropicResponse(
      anthropicMessage(),
      'my-alias',
      1_700_000_000_999,
    );
    expect(out).toEqual({
      id: 'chatcmpl-msg_01',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'my-alias',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello', refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
  });

  it('joins text blocks and turns tool_use blocks into tool calls with JSON arguments', () => {
    const res = anthropicMessage({
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 'sig' },
        { type: 'text', text: 'Let me ' },
        { type: 'text', text: 'check.' },
        { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Paris' } },
      ],
      stop_reason: 'tool_use',
    });
    const [choice] = fromAnthropicResponse(res, 'm', 0).choices;
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message).toEqual({
      role: 'assistant',
      content: 'Let me check.',
      refusal: null,
      tool_calls: [
        {
          id: 'toolu_9',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
        },
      ],
    });
  });

  it('sets content to null when tool calls alone carry the answer', () => {
    const res = anthropicMessage({
      content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }],
      stop_reason: 'tool_use',
    });
    expect(fromAnthropicResponse(res, 'm', 0).choices[0]?.message.content).toBeNull();
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'stop'],
    ['some_future_reason', 'stop'],
  ] as const)('maps stop_reason %s to finish_reason %s', (stopReason, finish) => {
    const out = fromAnthropicResponse(anthropicMessage({ stop_reason: stopReason }), 'm', 0);
    expect(out.choices[0]?.finish_reason).toBe(finish);
  });

  it('reads the forced JSON tool call back as content, ending in stop', () => {
    const out = fromAnthropicResponse(
      anthropicMessage({
        stop_reason: 'tool_use',
        content: [
          { type: 'tool_use', id: 'toolu_1', name: 'json_response', input: { city: 'Paris' } },
        ],
      }),
      'm',
      0,
      'json_response',
    );
    expect(out.choices[0]).toMatchObject({
      message: { role: 'assistant', content: '{"city":"Paris"}' },
      finish_reason: 'stop',
    });
    expect(out.choices[0]?.message).not.toHaveProperty('tool_calls');
  });

  it('reads a stop for want of context window as length, like max_tokens', () => {
    for (const stop_reason of ['max_tokens', 'model_context_window_exceeded']) {
      const out = fromAnthropicResponse(anthropicMessage({ stop_reason }), 'm', 0);
      expect(out.choices[0]?.finish_reason).toBe('length');
    }
  });

  it('counts cached prompt tokens in prompt_tokens and reports cache reads', () => {
    const usage = {
      input_tokens: 10,
      output_tokens: 5,
      cache_creation_input_tokens: 100,
      cache_read_input_tokens: 1000,
    };
    expect(fromAnthropicResponse(anthropicMessage({ usage }), 'm', 0).usage).toEqual({
      prompt_tokens: 1110,
      completion_tokens: 5,
      total_tokens: 1115,
      prompt_tokens_details: { cached_tokens: 1000 },
    });
  });

  it('round-trips a tool call: the answer sent back as history becomes the same tool_use', () => {
    const toolUse = {
      type: 'tool_use' as const,
      id: 'toolu_7',
      name: 'get_weather',
      input: { city: 'Oslo', days: 3 },
    };
    const answer = fromAnthropicResponse(
      anthropicMessage({ content: [toolUse], stop_reason: 'tool_use' }),
      'm',
      0,
    );
    const message = answer.choices[0]?.message;
    const next = toAnthropicRequest(
      request([
        { role: 'user', content: 'Forecast?' },
        {
          role: 'assistant',
          content: message?.content ?? null,
          tool_calls: message?.tool_calls ?? [],
        },
        { role: 'tool', tool_call_id: 'toolu_7', content: 'sunny' },
      ]),
      OPTS,
    );
    expect(next.messages[1]).toEqual({ role: 'assistant', content: [toolUse] });
    expect(next.messages[2]).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_7', content: 'sunny' }],
    });
  });
});
