/**
 * Fuzzing the bounded token counting (src/condense/text-segments.ts): random texts made of
 * ordinary fragments (words in several scripts, numbers, code, odd unicode, every kind of
 * whitespace, contractions, special-token text) are never cut and count exactly as the
 * tokenizer counts them whole; texts with long runs mixed in are cut, never inside a
 * surrogate pair, and count within a token per cut (112 tokens off over 491 cuts here).
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { beforeAll, describe, expect, it } from 'vitest';
import { boundedSegments, MAX_RUN } from '../../src/condense/text-segments.js';
import { countMessageTokens, loadTokenizer } from '../../src/condense/tokens.js';
import { ODD, prng, type Rng } from './kit.js';

const SEED = 20_240_612;
const AS_TEXT = { disallowedSpecial: new Set<string>() };

const FRAGMENTS = [
  'the',
  'night',
  'train',
  "don't",
  "it's",
  "WE'LL",
  'naïve',
  'Ünïcödé',
  'condensation',
  'Donaudampfschifffahrtsgesellschaftskapitän',
  '12345678',
  '3.14159',
  '0xdeadbeef',
  'foo(bar);',
  '{"a":[1,2,3]}',
  'https://example.com/a/b?c=d',
  'QUJDREVGR0hJSktMTU5PUFFS+/==',
  'こんにちは、今日はとても良い天気ですね。',
  '散歩に行きましょう。',
  'Привет, мир!',
  'مرحبا بالعالم',
  'สวัสดีครับ',
  '🎉🎉',
  '👩‍👩‍👧',
  '<|endoftext|>',
  '<|im_start|>',
  '!!!',
  '...',
  '—',
  'a\u0301\u0302',
  ...ODD,
];
const SPACES = [' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '\n\n', '\u00a0', '\u3000', ''];
const RUNS = ['a', 'Z', ' ', '\n', '!', '龘', '🎉', 'a\u0301', '!\n', 'ab'];

function ordinary(r: Rng): string {
  let s = '';
  const n = r.int(1, 400);
  for (let i = 0; i < n; i++) s += r.pick(FRAGMENTS) + r.pick(SPACES);
  return s;
}

function withRuns(r: Rng): string {
  let s = ordinary(r);
  const n = r.int(1, 3);
  for (let i = 0; i < n; i++) s += r.pick(RUNS).repeat(r.int(MAX_RUN, 2_500)) + ordinary(r);
  return s;
}

const exact = (text: string): number => countTokens(text, AS_TEXT);
/** The count tokens.ts makes: a message of the text, minus framing, role and priming. */
const bounded = (text: string): number => countMessageTokens([{ role: 'user', content: text }]) - 7;

beforeAll(loadTokenizer);

describe('fuzzing bounded token counting', () => {
  it('counts 300 random ordinary texts exactly as the tokenizer does, without a cut', () => {
    const r = prng(SEED);
    for (let i = 0; i < 300; i++) {
      const text = ordinary(r);
      expect([...boundedSegments(text)], `#${i}`).toHaveLength(1);
      expect(bounded(text), `#${i}`).toBe(exact(text));
    }
  });

  it('cuts 60 random texts with long runs between code points, within a token a cut', () => {
    const r = prng(SEED + 1);
    for (let i = 0; i < 60; i++) {
      const text = withRuns(r);
      const segments = [...boundedSegments(text)];
      expect(segments.join(''), `#${i}`).toBe(text);
      let at = 0;
      for (const s of segments.slice(0, -1)) {
        at += s.length;
        const [before, after] = [text.charCodeAt(at - 1), text.charCodeAt(at)];
        const splitPair =
          before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
        expect(splitPair, `#${i} cut at ${at}`).toBe(false);
      }
      const cuts = segments.length - 1;
      const diff = Math.abs(bounded(text) - exact(text));
      expect(diff, `#${i}`).toBeLessThanOrEqual(cuts);
    }
  });
});
