import { readFileSync } from 'node:fs';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { boundedSegments, MAX_RUN } from './text-segments.js';

const AS_TEXT = { disallowedSpecial: new Set<string>() };
const exact = (text: string): number => countTokens(text, AS_TEXT);
const segmented = (text: string): number =>
  [...boundedSegments(text)].reduce((n, s) => n + exact(s), 0);
const repeatTo = (unit: string, length: number): string =>
  unit.repeat(Math.ceil(length / unit.length)).slice(0, length);

const SOURCE = readFileSync(new URL('./condenser.ts', import.meta.url), 'utf8');
const ORDINARY: Record<string, string> = {
  prose: repeatTo('The night train from Lyon reaches Paris before breakfast. ', 100_000),
  code: repeatTo(SOURCE, 100_000),
  json: repeatTo(JSON.stringify({ id: 'call_1', args: { city: 'Paris', n: [1, 2, 3] } }), 50_000),
  base64: repeatTo(Buffer.from(SOURCE).toString('base64'), 100_000),
  japanese: repeatTo('こんにちは、今日はとても良い天気ですね。散歩に行きましょう。', 50_000),
  // A 250-letter word: under MAX_RUN / 2, the longest stretch kept whole for sure.
  longWords: repeatTo(`${'x'.repeat(250)} `, 50_000),
};

describe('boundedSegments', () => {
  it('leaves ordinary text whole: prose, code, JSON, base64, punctuated Japanese', () => {
    for (const [kind, text] of Object.entries(ORDINARY)) {
      expect([...boundedSegments(text)], kind).toEqual([text]);
    }
  });

  it('cuts a run with no boundary into pieces of MAX_RUN, joined they are the text', () => {
    for (const unit of ['a', ' ', '!', '\n', '!\n', 'a\u0301', '龘']) {
      const text = `Before it: ${repeatTo(unit, 20_000)} and after.`;
      const segments = [...boundedSegments(text)];
      expect(segments.join('')).toBe(text);
      expect(segments.length).toBeGreaterThan(20_000 / MAX_RUN - 1);
      expect(Math.max(...segments.map((s) => s.length))).toBeLessThanOrEqual(MAX_RUN + 12);
    }
  });

  it('never cuts between the two halves of a surrogate pair', () => {
    for (const text of ['🎉'.repeat(10_000), `x${'🎉'.repeat(10_000)}`]) {
      const segments = [...boundedSegments(text)];
      expect(segments.length).toBeGreaterThan(1);
      expect(segments.join('')).toBe(text);
      for (const s of segments) {
        expect(s.charCodeAt(0)).not.toBe(0xdf89); // the low half of 🎉
        expect(s.charCodeAt(s.length - 1)).not.toBe(0xd83c); // its high half
      }
    }
  });

  it('counts a cut run within a token per cut of the exact count', () => {
    for (const unit of ['a', ' ', '!', '龘', 'ab1+/']) {
      const text = repeatTo(unit, 4_000);
      const cuts = [...boundedSegments(text)].length - 1;
      expect(Math.abs(segmented(text) - exact(text)), unit).toBeLessThanOrEqual(cuts);
    }
  });
});
