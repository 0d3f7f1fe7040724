import { describe, expect, it } from 'vitest';
import { isRecord, parseRecord } from './json.js';

describe('parseRecord', () => {
  it('returns JSON objects and nothing else', () => {
    expect(parseRecord('{"a":1}')).toEqual({ a: 1 });
    for (const text of ['[1]', 'null', '3', '"x"', '{', ''])
      expect(parseRecord(text)).toBeUndefined();
  });
  it('isRecord rejects null and arrays', () => {
    expect([isRecord({}), isRecord(null), isRecord([]), isRecord('x')]).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });
});
