import type {
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { ProxyError } from './errors.js';
import { parseChatRequest, parseEmbeddingsRequest } from './validate.js';

/** The 400 a body gets: its message and param. */
function refusal(
  parse: (b: unknown) => unknown,
  body: unknown,
): { message: string; param: string | null } {
  try {
    parse(body);
  } catch (err) {
    if (err instanceof ProxyError) return { message: err.message, param: err.param };
    throw err;
  }
  throw new Error('the body was accepted');
}

const user = [{ role: 'user', content: 'hi' }];

describe('request validation messages say what to fix', () => {
  it('names the parameter and the expected type', () => {
    expect(refusal(parseChatRequest, { model: 'm', messages: user, temperature: '1' })).toEqual({
      message: "Invalid 'temperature': expected number, received string.",
      param: 'temperature',
    });
  });

  it('says a required parameter is missing', () => {
    expect(refusal(parseChatRequest, { messages: user })).toEqual({
      message: "Invalid 'model': this required parameter is missing (expected string).",
      param: 'model',
    });
  });

  it('lists the alternatives of a union rather than "Invalid input"', () => {
    expect(refusal(parseEmbeddingsRequest, { model: 'm', input: 5 }).message).toBe(
      "Invalid 'input': expected string or array, received number.",
    );
    expect(refusal(parseChatRequest, { model: 'm', messages: user, stop: true }).message).toBe(
      "Invalid 'stop': expected string or array, received boolean.",
    );
  });

  it('follows the alternative that got furthest into a nested value', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 1 }] }] };
    const { message, param } = refusal(parseChatRequest, body);
    expect(param).toMatch(/^messages\[0\]\.content\[0\]/);
    expect(message).not.toMatch(/Invalid input\.?$/);
  });

  it('blames the limit, not the element type, when the input has the right type but too many items', () => {
    const { message, param } = refusal(parseEmbeddingsRequest, {
      model: 'm',
      input: Array.from({ length: 5_000 }, () => 'a'),
    });
    expect(param).toBe('input');
    expect(message).toMatch(/4096/);
    expect(message).not.toMatch(/expected number/);
  });

  it("blames the image part's bad field, not its type for not being 'text'", () => {
    const body = {
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 5 }] }],
    };
    const { message, param } = refusal(parseChatRequest, body);
    expect(param).toBe('messages[0].content[0].image_url');
    expect(message).toMatch(/expected object, received number/);
  });

  it('names the roles a message may have', () => {
    const { message, param } = refusal(parseChatRequest, {
      model: 'm',
      messages: [{ role: 'bot', content: 'x' }],
    });
    expect(param).toBe('messages[0].role');
    expect(message).toContain(
      "'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function'",
    );
  });
});

/** A chat body of these messages (typed by the SDK: a shape its users can send). */
function chat(messages: ChatCompletionMessageParam[], extra: object = {}): object {
  return { model: 'gpt-4o', messages, ...extra };
}

const ask: ChatCompletionMessageParam = { role: 'user', content: 'hi' };

describe('request validation accepts every shape the OpenAI SDK sends, passed on intact', () => {
  it('accepts input_audio and file parts in user content', () => {
    const body = chat([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'transcribe this and summarise the file' },
          { type: 'input_audio', input_audio: { data: 'UklGRiQAAABXQVZF', format: 'wav' } },
          {
            type: 'file',
            file: { file_data: 'data:application/pdf;base64,JVBE', filename: 'a.pdf' },
          },
          { type: 'file', file: { file_id: 'file-abc123' } },
        ],
      },
    ]);
    expect(parseChatRequest(body)).toEqual(body);
  });

  it('accepts an assistant message whose content is a refusal part', () => {
    const body = chat([ask, { role: 'assistant', content: [{ type: 'refusal', refusal: 'No.' }] }]);
    expect(parseChatRequest(body)).toEqual(body);
  });

  it('accepts the legacy function role, function_call and functions', () => {
    const body = chat(
      [
        ask,
        {
          role: 'assistant',
          content: null,
          function_call: { name: 'weather', arguments: '{"city":"Oslo"}' },
        },
        { role: 'function', name: 'weather', content: '{"temp":3}' },
      ],
      { functions: [{ name: 'weather', parameters: { type: 'object' } }], function_call: 'auto' },
    );
    expect(parseChatRequest(body)).toEqual(body);
  });

  it('accepts custom tools and custom tool calls in the history', () => {
    const tools: ChatCompletionTool[] = [
      { type: 'custom', custom: { name: 'sql', format: { type: 'text' } } },
      { type: 'function', function: { name: 'f' } },
    ];
    const body = chat(
      [
        ask,
        {
          role: 'assistant',
          tool_calls: [{ id: 'c1', type: 'custom', custom: { name: 'sql', input: 'SELECT 1' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: '1' },
      ],
      { tools },
    );
    expect(parseChatRequest(body)).toEqual(body);
  });

  it('passes on part, tool and tool call types it does not know that carry their payload', () => {
    const body = {
      model: 'm',
      messages: [
        { role: 'user', content: [{ type: 'input_video', input_video: { url: 'v' } }] },
        { role: 'assistant', tool_calls: [{ id: 'c', type: 'mcp', mcp: { server: 's' } }] },
      ],
      tools: [{ type: 'web_search', web_search: {} }],
    };
    expect(parseChatRequest(body)).toEqual(body);
  });

  it('refuses a type it does not know without a payload of that name, listing the known ones', () => {
    const part = refusal(parseChatRequest, {
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'image', image_url: { url: 'x' } }] }],
    });
    expect(part.param).toBe('messages[0].content[0].type');
    expect(part.message).toContain("'text' | 'image_url' | 'input_audio' | 'file' | 'refusal'");
    expect(part.message).toContain("(here 'image')");
    const tool = refusal(parseChatRequest, chat([ask], { tools: [{ type: 'x' }] }));
    expect(tool.param).toBe('tools[0].type');
    expect(tool.message).toContain("'function' | 'custom'");
  });

  it('still checks the fields of the types it knows', () => {
    const audio = chat([
      { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 7, format: 'wav' } }] },
    ] as unknown as ChatCompletionMessageParam[]);
    expect(refusal(parseChatRequest, audio)).toEqual({
      message:
        "Invalid 'messages[0].content[0].input_audio.data': expected string, received number.",
      param: 'messages[0].content[0].input_audio.data',
    });
    const call = chat([
      { role: 'assistant', tool_calls: [{ id: 'c', type: 'custom', custom: { name: 'f' } }] },
    ] as unknown as ChatCompletionMessageParam[]);
    expect(refusal(parseChatRequest, call).param).toBe('messages[0].tool_calls[0].custom.input');
    const fn = chat([
      { role: 'function', content: 'x' },
    ] as unknown as ChatCompletionMessageParam[]);
    expect(refusal(parseChatRequest, fn).param).toBe('messages[0].name');
  });
});

describe('embeddings validation', () => {
  it('takes null for an optional field as absent, as chat does, and drops it', () => {
    const body = { model: 'm', input: 'x', dimensions: null, user: null, encoding_format: null };
    expect(parseEmbeddingsRequest(body)).toEqual({ model: 'm', input: 'x' });
    expect(parseEmbeddingsRequest(body)).not.toHaveProperty('dimensions');
  });
});
