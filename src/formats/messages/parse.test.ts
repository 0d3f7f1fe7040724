import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MessagesFormatError } from './errors.js';
import { parseMessagesRequest } from './parse.js';

/** A request as Claude Code sends it (system blocks with cache_control, ten tools, ...). */
const claudeCode = (): Record<string, unknown> =>
  JSON.parse(
    readFileSync(new URL('./fixtures/claude-code-request.json', import.meta.url), 'utf8'),
  ) as Record<string, unknown>;

const base = { model: 'claude-sonnet-4-5', max_tokens: 1024 };
const user = (content: unknown) => ({ ...base, messages: [{ role: 'user', content }] });

function refusal(body: unknown): MessagesFormatError {
  try {
    parseMessagesRequest(body);
  } catch (err) {
    if (err instanceof MessagesFormatError) return err;
    throw err;
  }
  throw new Error('the request was accepted');
}

describe('parseMessagesRequest', () => {
  it('accepts a Claude Code request whole, unknown top-level fields included', () => {
    const body = claudeCode();
    const parsed = parseMessagesRequest(body);
    expect(parsed).toEqual(body);
    expect(parsed['context_management']).toEqual({
      edits: [{ type: 'clear_tool_uses_20250919' }],
    });
    expect(parsed.tools).toHaveLength(10);
  });

  it('accepts every block type Anthropic documents for each role', () => {
    const pdf = { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' };
    const body = {
      ...base,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'hi', cache_control: { type: 'ephemeral', ttl: '1h' } },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBO' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
            { type: 'document', source: pdf, title: 'Spec' },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } },
            { type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } },
            {
              type: 'document',
              source: { type: 'content', content: [{ type: 'text', text: 'c' }] },
            },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hm', signature: 'sig' },
            { type: 'redacted_thinking', data: 'opaque' },
            { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok', is_error: false },
          ],
        },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      thinking: { type: 'disabled' },
      top_k: 40,
      top_p: 0.9,
      stop_sequences: ['END'],
      service_tier: 'standard_only',
    };
    expect(parseMessagesRequest(body)).toEqual(body);
  });

  it('lets block, source and tool types it does not know pass, for native providers', () => {
    const body = {
      ...user([
        { type: 'search_result', source: 'https://x', title: 't', content: [] },
        { type: 'image', source: { type: 'file', file_id: 'file_1' } },
      ]),
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }],
    };
    expect(parseMessagesRequest(body)).toEqual(body);
  });

  it.each([
    [{ ...base, max_tokens: undefined, messages: [] }, 'max_tokens', 'max_tokens: Field required'],
    [{ model: 'm', max_tokens: 1 }, 'messages', 'messages: Field required'],
    [{ ...base, messages: [] }, 'messages', 'messages: Too small'],
    [user(3), 'messages.0.content', 'messages.0.content: Input should be a string or a list'],
    [user([{ type: 'text' }]), 'messages.0.content.0.text', 'messages.0.content.0.text: Field'],
    [
      user([{ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: '' } }]),
      'messages.0.content.0.source.media_type',
      'messages.0.content.0.source.media_type: Invalid option',
    ],
    [
      user([{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 1 }] }]),
      'messages.0.content.0.content.0.text',
      'messages.0.content.0.content.0.text: expected string, received number',
    ],
    [
      user([{ type: 'tool_use', id: 't', name: 'f', input: {} }]),
      'messages.0.content.0.type',
      "messages.0.content.0.type: 'tool_use' blocks are not allowed in user messages",
    ],
    [
      { ...base, messages: [{ role: 'system', content: 'x' }] },
      'messages.0.role',
      'messages.0.role: Invalid option: expected one of "user"|"assistant"',
    ],
    [
      { ...user('hi'), system: [{ type: 'text', text: 's', cache_control: { type: 'x' } }] },
      'system.0.cache_control.type',
      'system.0.cache_control.type: expected "ephemeral"',
    ],
    [
      { ...user('hi'), tools: [{ name: 'f', input_schema: { type: 'array' } }] },
      'tools.0.input_schema.type',
      'tools.0.input_schema.type: expected "object"',
    ],
    [
      { ...user('hi'), tool_choice: { type: 'tool' } },
      'tool_choice.name',
      'tool_choice.name: Field required',
    ],
    [
      { ...user('hi'), thinking: { type: 'enabled', budget_tokens: 512 } },
      'thinking.budget_tokens',
      'thinking.budget_tokens: Too small: expected number to be >=1024',
    ],
    [
      { ...user('hi'), thinking: { type: 'enabled', budget_tokens: 2048 } },
      'max_tokens',
      'max_tokens: must be greater than thinking.budget_tokens',
    ],
    [{ ...user('hi'), temperature: 1.5 }, 'temperature', 'temperature: Too big'],
    [{ ...user('hi'), metadata: { user_id: 7 } }, 'metadata.user_id', 'metadata.user_id: expected'],
  ])('refuses %j naming %s', (body, param, message) => {
    const err = refusal(body);
    expect(err.param).toBe(param);
    expect(err.message.startsWith(message)).toBe(true);
    expect(err.status).toBe(400);
    expect(err.toBody()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: err.message },
    });
  });
});
