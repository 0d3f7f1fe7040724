import { describe, expect, it } from 'vitest';
import { decodeEscapes, decodeJsonEscapes, decodePercent } from './escapes.js';

describe('decodeJsonEscapes', () => {
  it('decodes one layer of every JSON string escape', () => {
    expect(decodeJsonEscapes('a\\/b \\u0073\\u00E9 \\"q\\" \\\\ \\n\\t\\r\\b\\f')).toBe(
      'a/b s\u00e9 "q" \\ \n\t\r\b\f',
    );
    expect(decodeJsonEscapes('\\\\u0041')).toBe('\\u0041');
    expect(decodeJsonEscapes('\\ud83d\\ude00')).toBe('\u{1f600}');
  });

  it('keeps unknown, cut and malformed escapes as written', () => {
    for (const text of ['C:\\path', '\\u12', '\\uZZZZ', 'end\\', '\\x41', 'plain', ''])
      expect(decodeJsonEscapes(text)).toBe(text);
  });
});

describe('decodePercent', () => {
  it('decodes runs of %XX as UTF-8, either case of hex digits', () => {
    expect(decodePercent('%E2%82%AC %2f %2F%41%62')).toBe('€ / /Ab');
    expect(decodePercent('a%20b%')).toBe('a b%');
  });

  it('keeps a stray or malformed % as written', () => {
    for (const text of ['100%', '%zz', '%4', '50% off', '%%', 'plain'])
      expect(decodePercent(text)).toBe(text);
    expect(decodePercent('%%41')).toBe('%A');
  });
});

describe('decodeEscapes', () => {
  it('decodes JSON escapes, then percent-encoding, one layer of each', () => {
    expect(decodeEscapes('key=sk\\u002dab%2Fcd \\u0025 %5Cu0041')).toBe('key=sk-ab/cd % \\u0041');
  });
});
