import { describe, expect, it } from 'vitest';
import {
  answerText,
  embeddingOf,
  lastUserText,
  mentionsTool,
  splitInto,
  textOf,
  wordCount,
} from './content.js';
import { framesThroughContent } from './exchange.js';

describe('answerText', () => {
  it('echoes the trimmed text, and "(empty)" for nothing', () => {
    expect(answerText('  hi  ')).toBe('echo: hi');
    expect(answerText('')).toBe('echo: (empty)');
  });
});

describe('splitInto', () => {
  it('cuts into exactly n pieces that join back to the text', () => {
    const pieces = splitInto('echo: hello world', 5);
    expect(pieces).toHaveLength(5);
    expect(pieces.join('')).toBe('echo: hello world');
  });

  it('never splits a surrogate pair, and pads short texts with empty pieces', () => {
    expect(splitInto('a😀b', 3)).toEqual(['a', '😀', 'b']);
    expect(splitInto('ab', 4)).toEqual(['', 'a', '', 'b']);
  });
});

describe('textOf and lastUserText', () => {
  it('reads strings, text parts and tool_result content of either API', () => {
    expect(textOf('plain')).toBe('plain');
    expect(
      textOf([{ type: 'text', text: 'a' }, { type: 'image_url' }, { type: 'text', text: 'b' }]),
    ).toBe('a b');
    expect(textOf([{ type: 'tool_result', content: [{ type: 'text', text: 'res' }] }])).toBe('res');
    expect(textOf(null)).toBe('');
  });

  it('takes the last message whose role is user', () => {
    const turns = [
      { role: 'user', content: 'first' },
      { role: 'user', content: 'second' },
      { role: 'assistant', content: 'reply' },
    ];
    expect(lastUserText(turns)).toBe('second');
    expect(lastUserText([])).toBe('');
  });
});

describe('wordCount and mentionsTool', () => {
  it('counts whitespace-separated words', () => {
    expect(wordCount(' one  two\nthree ')).toBe(3);
    expect(wordCount('')).toBe(0);
  });

  it('matches "tool" only as a whole word', () => {
    expect(mentionsTool('use a Tool.')).toBe(true);
    expect(mentionsTool('toolbox tools')).toBe(false);
  });
});

describe('embeddingOf', () => {
  it('is a stable unit vector of 8 floats that differs between texts', () => {
    const a = embeddingOf('alpha');
    expect(a).toHaveLength(8);
    expect(embeddingOf('alpha')).toEqual(a);
    expect(embeddingOf('beta')).not.toEqual(a);
    expect(Math.hypot(...a)).toBeCloseTo(1, 4);
  });
});

describe('framesThroughContent', () => {
  const frame = (text: string, content: boolean) => ({ text, content });
  const frames = [
    frame('role', false),
    frame('c1', true),
    frame('c2', true),
    frame('c3', true),
    frame('stop', false),
  ];

  it('cuts right after the nth content frame', () => {
    expect(framesThroughContent(frames, 2).map((f) => f.text)).toEqual(['role', 'c1', 'c2']);
  });

  it('cuts after the last content frame when there are fewer, and after the first frame when none', () => {
    expect(framesThroughContent(frames, Infinity).map((f) => f.text)).toEqual([
      'role',
      'c1',
      'c2',
      'c3',
    ]);
    expect(framesThroughContent([frame('role', false), frame('stop', false)], 2)).toEqual([
      frame('role', false),
    ]);
  });
});
