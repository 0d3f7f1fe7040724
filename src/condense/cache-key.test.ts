import { describe, expect, it } from 'vitest';
import { summaryCacheKey } from './cache-key.js';
import type { ChatMessage } from './types.js';

describe('summaryCacheKey', () => {
  const older: ChatMessage[] = [
    { role: 'user', content: 'plan a trip to Paris' },
    { role: 'assistant', content: 'sure' },
  ];

  it('is a sha256 hex digest', () => {
    expect(summaryCacheKey('gpt-4o-mini', older)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on the order of object keys', () => {
    const reordered: ChatMessage[] = [
      { content: 'plan a trip to Paris', role: 'user' },
      { content: 'sure', role: 'assistant' },
    ];
    expect(summaryCacheKey('gpt-4o-mini', reordered)).toBe(summaryCacheKey('gpt-4o-mini', older));
  });

  it('differs for another summariser model, other content or another message order', () => {
    const key = summaryCacheKey('gpt-4o-mini', older);
    expect(summaryCacheKey('gpt-4o', older)).not.toBe(key);
    expect(
      summaryCacheKey('gpt-4o-mini', [older[0]!, { role: 'assistant', content: 'no' }]),
    ).not.toBe(key);
    expect(summaryCacheKey('gpt-4o-mini', [older[1]!, older[0]!])).not.toBe(key);
  });
});
