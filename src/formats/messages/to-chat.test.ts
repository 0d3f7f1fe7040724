import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MessagesFormatError } from './errors.js';
import { parseMessagesRequest } from './parse.js';
import { reasoningEffort, toChatRequest } from './to-chat.js';
import type { AnthropicMessagesRequest } from './types.js';

/** A request as Claude Code sends it (system blocks with cache_control, ten tools, ...). */
const claudeCode = () =>
  parseMessagesRequest(
    JSON.parse(
      readFileSync(new URL('./fixtures/claude-code-request.json', import.meta.url), 'utf8'),
    ),
  );

const base = { model: 'claude-sonnet-4-5', max_tokens: 1024 };
const translate = (body: Record<string, unknown>) => toChatRequest(parseMessagesRequest(body));
const fromUser = (content: unknown[]) =>
  translate({ ...base, messages: [{ role: 'user', content }] }).messages;

function refusal(body: Record<string, unknown>): MessagesFormatError {
  try {
    translate(body);
  } catch (err) {
    if (err instanceof MessagesFormatError) return err;
    throw err;
  }
  throw new Error('the request was translated');
}

describe('toChatRequest', () => {
  it('translates a Claude Code request: system, tools, tool round trip, user id, stream', () => {
    const chat = toChatRequest(claudeCode());
    expect(chat.model).toBe('claude-sonnet-4-5-20250929');
    expect(chat.max_tokens).toBe(32000);
    expect(chat.stream).toBe(true);
    expect(chat.stream_options).toEqual({ include_usage: true });
    expect(chat.user).toMatch(/^user_5f8c1d2e.*_session_4b9e2c71-/);
    expect(chat.reasoning_effort).toBe('medium');
    expect(chat.temperature).toBe(1);
    expect(chat.tools).toHaveLength(10);
    expect(chat.tools?.[1]).toEqual({
      type: 'function',
      function: {
        name: 'Bash',
        description: expect.stringContaining('bash command') as string,
        parameters: expect.objectContaining({ required: ['command'] }) as object,
      },
    });
    // cache_control is gone everywhere; unknown fields (context_management) are not sent.
    expect(JSON.stringify(chat)).not.toContain('cache_control');
    expect(chat).not.toHaveProperty('context_management');
    expect(chat.messages.map((m) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
      'tool',
      'tool',
      'user',
    ]);
    const [system, first, assistant, read, bash, reminder] = chat.messages;
    expect(system).toEqual({
      role: 'system',
      content: expect.stringMatching(
        /^You are Claude Code.*\n\nYou are an interactive CLI/s,
      ) as string,
    });
    expect(first?.content).toHaveLength(2);
    // The thinking block (and its signature) is dropped; text and both calls stay.
    expect(assistant).toEqual({
      role: 'assistant',
      content: "I'll look at the failing test and the code it covers.",
      tool_calls: [
        {
          id: 'toolu_01A09q90qw90lq917835lq9',
          type: 'function',
          function: { name: 'Read', arguments: '{"file_path":"/repo/src/math.test.ts"}' },
        },
        {
          id: 'toolu_01B19r91rx91mr928946mr0',
          type: 'function',
          function: {
            name: 'Bash',
            arguments:
              '{"command":"npx vitest run src/math.test.ts","description":"Run the failing test"}',
          },
        },
      ],
    });
    expect(read).toEqual({
      role: 'tool',
      tool_call_id: 'toolu_01A09q90qw90lq917835lq9',
      content: expect.stringContaining("import { add } from './math.js';") as string,
    });
    expect(bash).toEqual({
      role: 'tool',
      tool_call_id: 'toolu_01B19r91rx91mr928946mr0',
      content: 'Error: FAIL src/math.test.ts\nexpected 5 to be 4',
    });
    expect(reminder).toEqual({
      role: 'user',
      content: expect.stringContaining('TodoWrite') as string,
    });
  });

  it('keeps the order of a user turn: tool messages first, then one user message', () => {
    const messages = fromUser([
      { type: 'tool_result', tool_use_id: 'a', content: 'one' },
      { type: 'tool_result', tool_use_id: 'b', content: [{ type: 'text', text: 'two' }] },
      { type: 'text', text: 'and then' },
      { type: 'text', text: 'this' },
    ]);
    expect(messages).toEqual([
      { role: 'tool', tool_call_id: 'a', content: 'one' },
      { role: 'tool', tool_call_id: 'b', content: 'two' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'and then' },
          { type: 'text', text: 'this' },
        ],
      },
    ]);
  });

  it("moves a tool result's image to the user message after the tool messages", () => {
    const png = { type: 'base64', media_type: 'image/png', data: 'iVBO' };
    const messages = fromUser([
      {
        type: 'tool_result',
        tool_use_id: 'shot',
        content: [
          { type: 'text', text: 'screenshot:' },
          { type: 'image', source: png },
        ],
      },
    ]);
    expect(messages).toEqual([
      { role: 'tool', tool_call_id: 'shot', content: 'screenshot:' },
      {
        role: 'user',
        content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBO' } }],
      },
    ]);
  });

  it('turns images and documents into image_url, file and text parts', () => {
    const [message] = fromUser([
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
      {
        type: 'document',
        title: 'spec.pdf',
        source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' },
      },
      {
        type: 'document',
        source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi1=' },
      },
      {
        type: 'document',
        title: 'Notes',
        source: { type: 'text', media_type: 'text/plain', data: 'plain words' },
      },
      { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'c' }] } },
    ]);
    expect(message?.content).toEqual([
      { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
      {
        type: 'file',
        file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'spec.pdf' },
      },
      {
        type: 'file',
        file: { file_data: 'data:application/pdf;base64,JVBERi1=', filename: 'document.pdf' },
      },
      { type: 'text', text: 'Notes\n\nplain words' },
      { type: 'text', text: 'c' },
    ]);
  });

  it.each([
    [{ type: 'auto' }, { tool_choice: 'auto' }],
    [{ type: 'any' }, { tool_choice: 'required' }],
    [{ type: 'none' }, { tool_choice: 'none' }],
    [{ type: 'tool', name: 'f' }, { tool_choice: { type: 'function', function: { name: 'f' } } }],
    [
      { type: 'auto', disable_parallel_tool_use: true },
      { tool_choice: 'auto', parallel_tool_calls: false },
    ],
    [
      { type: 'any', disable_parallel_tool_use: true },
      { tool_choice: 'required', parallel_tool_calls: false },
    ],
  ])('maps tool_choice %j to %j', (choice, expected) => {
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    const chat = translate({
      ...base,
      messages: [{ role: 'user', content: 'x' }],
      tools,
      tool_choice: choice,
    });
    expect({
      tool_choice: chat.tool_choice,
      parallel_tool_calls: chat.parallel_tool_calls,
    }).toEqual({
      parallel_tool_calls: undefined,
      ...expected,
    });
  });

  it('maps sampling, stops, and drops what chat has no field for (top_k, service_tier)', () => {
    const chat = translate({
      ...base,
      messages: [{ role: 'user', content: 'x' }],
      system: 'be brief',
      temperature: 0.2,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['END', '###'],
      service_tier: 'auto',
      metadata: { user_id: null },
    });
    expect(chat).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'x' },
      ],
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END', '###'],
    });
  });

  it('leaves out an assistant turn holding only thinking, and sends no stream fields unasked', () => {
    const chat = translate({
      ...base,
      stream: false,
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'x' }] },
        { role: 'user', content: 'b' },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
    ]);
    expect(chat).not.toHaveProperty('stream');
    expect(chat).not.toHaveProperty('stream_options');
  });

  it.each([
    [{ type: 'enabled', budget_tokens: 1024 }, 'low'],
    [{ type: 'enabled', budget_tokens: 4000 }, 'low'],
    [{ type: 'enabled', budget_tokens: 10000 }, 'medium'],
    [{ type: 'enabled', budget_tokens: 31999 }, 'high'],
    [{ type: 'adaptive' }, undefined],
    [{ type: 'disabled' }, undefined],
    [undefined, undefined],
  ] as const)('maps thinking %j to reasoning_effort %s', (thinking, effort) => {
    expect(reasoningEffort(thinking as AnthropicMessagesRequest['thinking'])).toBe(effort);
  });

  it.each([
    [
      { tools: [{ type: 'web_search_20250305', name: 'web_search' }] },
      'tools.0.type',
      "the server tool 'web_search_20250305' is served only by anthropic providers",
    ],
    [
      { messages: [{ role: 'user', content: [{ type: 'search_result', source: 's' }] }] },
      'messages.0.content.0.type',
      "'search_result' blocks cannot be translated",
    ],
    [
      {
        messages: [
          {
            role: 'user',
            content: [{ type: 'document', source: { type: 'url', url: 'https://x/a.pdf' } }],
          },
        ],
      },
      'messages.0.content.0.source.type',
      'URL documents cannot be translated',
    ],
    [
      {
        messages: [
          { role: 'user', content: 'hi' },
          {
            role: 'assistant',
            content: [{ type: 'server_tool_use', id: 's', name: 'web_search' }],
          },
        ],
      },
      'messages.1.content.0.type',
      "'server_tool_use' blocks are served only by providers",
    ],
    [
      {
        messages: [
          { role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] },
        ],
      },
      'messages.0.content.0.source.type',
      "'file' sources cannot be translated",
    ],
  ])('refuses %j naming %s', (extra, param, message) => {
    const err = refusal({ ...base, messages: [{ role: 'user', content: 'x' }], ...extra });
    expect(err.param).toBe(param);
    expect(err.status).toBe(400);
    expect(err.errorType).toBe('invalid_request_error');
    expect(err.message).toContain(`${param}: ${message}`);
  });
});
