import { describe, expect, it } from 'vitest';
import { parseAnswer, serializeAnswer, type CachedAnswer } from './entry.js';

describe('cached answer wire form', () => {
  it('round-trips a JSON answer and a streamed answer', () => {
    const plain: CachedAnswer = {
      provider: 'primary',
      body: '{"id":"x"}',
      storedAt: 1_700_000_000_000,
    };
    const streamed: CachedAnswer = {
      provider: 'local',
      chunks: ['{"a":1}', '{"b":2}'],
      storedAt: 5,
    };
    expect(parseAnswer(serializeAnswer(plain))).toEqual(plain);
    expect(parseAnswer(serializeAnswer(streamed))).toEqual(streamed);
  });

  it.each([
    ['not JSON', '{"provider":'],
    ['a JSON array', '[]'],
    ['null', 'null'],
    ['no provider', '{"body":"x","storedAt":1}'],
    ['an empty provider', '{"provider":"","body":"x","storedAt":1}'],
    ['no storedAt', '{"provider":"p","body":"x"}'],
    ['a non-string body', '{"provider":"p","body":{},"storedAt":1}'],
    ['chunks that are not strings', '{"provider":"p","chunks":[1],"storedAt":1}'],
    ['neither body nor chunks', '{"provider":"p","storedAt":1}'],
  ])('rejects %s', (_name, text) => {
    expect(parseAnswer(text)).toBeUndefined();
  });

  it('drops unknown fields instead of carrying them into the answer', () => {
    expect(parseAnswer('{"provider":"p","body":"b","storedAt":1,"extra":true}')).toEqual({
      provider: 'p',
      body: 'b',
      storedAt: 1,
    });
  });
});
