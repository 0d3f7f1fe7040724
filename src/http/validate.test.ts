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
    expect(message).toContain("'system' | 'developer' | 'user' | 'assistant' | 'tool'");
  });
});
