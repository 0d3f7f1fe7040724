import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../upstream/index.js';
import { encodeSseData, encodeSseEvent, SSE_DONE, SseParser } from './sse.js';
import type { SseEvent } from './sse.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function parseAll(chunks: (Uint8Array | string)[]): SseEvent[] {
  const parser = new SseParser();
  const out = chunks.flatMap((chunk) => parser.push(chunk));
  return [...out, ...parser.end()];
}

// Every feature at once: mixed line endings, comments, multi-line data, ids, retry,
// a field without a colon, and characters of two, three and four UTF-8 bytes.
const SAMPLE =
  ': keep-alive comment\n' +
  'event: message_start\r\n' +
  'id: 1\r\n' +
  'data: {"text":"héllo € 🌍"}\r\n' +
  '\r\n' +
  'data: line one\r' +
  'data:line two\r' +
  'data:  three\r' +
  '\r' +
  'retry: 3000\n' +
  'data\n' +
  '\n' +
  'event: ping\n' +
  '\n' +
  'data: [DONE]\n\n';

const SAMPLE_EVENTS: SseEvent[] = [
  { event: 'message_start', id: '1', data: '{"text":"héllo € 🌍"}' },
  { id: '1', data: 'line one\nline two\n three' },
  { id: '1', data: '' },
  { id: '1', data: '[DONE]' },
];

describe('SseParser', () => {
  it('parses a stream with every feature in one chunk', () => {
    expect(parseAll([bytes(SAMPLE)])).toEqual(SAMPLE_EVENTS);
  });

  it('yields the same events when the bytes are split at every offset', () => {
    const all = bytes(SAMPLE);
    for (let i = 0; i <= all.length; i++) {
      expect(parseAll([all.subarray(0, i), all.subarray(i)]), `split at byte ${i}`).toEqual(
        SAMPLE_EVENTS,
      );
    }
  });

  it('yields the same events when fed one byte at a time', () => {
    const all = bytes(SAMPLE);
    const chunks = Array.from(all, (_, i) => all.subarray(i, i + 1));
    expect(parseAll(chunks)).toEqual(SAMPLE_EVENTS);
  });

  it('yields the same events when fed as strings split at every offset', () => {
    for (let i = 0; i <= SAMPLE.length; i++) {
      expect(parseAll([SAMPLE.slice(0, i), SAMPLE.slice(i)])).toEqual(SAMPLE_EVENTS);
    }
  });

  it('returns each event from the push that completes it, not later', () => {
    const parser = new SseParser();
    expect(parser.push('data: a\n')).toEqual([]);
    expect(parser.push('\ndata: b\n')).toEqual([{ data: 'a' }]);
    expect(parser.push('\n')).toEqual([{ data: 'b' }]);
  });

  it('treats CR then LF in the next chunk as one line ending, not a blank line', () => {
    const parser = new SseParser();
    expect(parser.push('data: a\r')).toEqual([]);
    expect(parser.push('\ndata: b\r\n')).toEqual([]);
    expect(parser.push('\r\n')).toEqual([{ data: 'a\nb' }]);
  });

  it('accepts CRLF line endings', () => {
    expect(parseAll(['event: x\r\ndata: 1\r\n\r\n'])).toEqual([{ event: 'x', data: '1' }]);
  });

  it('joins multi-line data with LF', () => {
    expect(parseAll(['data: {\ndata: "a": 1\ndata: }\n\n'])).toEqual([{ data: '{\n"a": 1\n}' }]);
  });

  it('ignores comment lines, also between data lines', () => {
    expect(parseAll([':c1\ndata: a\n: c2\ndata: b\n\n'])).toEqual([{ data: 'a\nb' }]);
  });

  it('strips exactly one leading space after the colon', () => {
    expect(parseAll(['data:x\n\ndata: x\n\ndata:  x\n\n'])).toEqual([
      { data: 'x' },
      { data: 'x' },
      { data: ' x' },
    ]);
  });

  it('reads a field without a colon as that field with an empty value', () => {
    expect(parseAll(['event: a\nevent\ndata\n\n'])).toEqual([{ data: '' }]);
  });

  it('does not dispatch a block without data, and forgets its event type', () => {
    expect(parseAll(['event: a\n\ndata: x\n\n'])).toEqual([{ data: 'x' }]);
  });

  it('resets the event type after each event', () => {
    expect(parseAll(['event: a\ndata: 1\n\ndata: 2\n\n'])).toEqual([
      { event: 'a', data: '1' },
      { data: '2' },
    ]);
  });

  it('keeps the last event id across events, ignores ids containing NUL, clears on empty id', () => {
    expect(parseAll(['id: 7\ndata: a\n\nid: x\0y\ndata: b\n\nid\ndata: c\n\n'])).toEqual([
      { id: '7', data: 'a' },
      { id: '7', data: 'b' },
      { data: 'c' },
    ]);
  });

  it('ignores retry and unknown fields', () => {
    expect(parseAll(['retry: 10\nfoo: bar\ndata: a\n\n'])).toEqual([{ data: 'a' }]);
  });

  it('decodes a multi-byte character split across chunks', () => {
    const all = bytes('data: 🌍€\n\n');
    const parser = new SseParser();
    expect(parser.push(all.subarray(0, 8))).toEqual([]);
    expect(parser.push(all.subarray(8, 11))).toEqual([]);
    expect(parser.push(all.subarray(11))).toEqual([{ data: '🌍€' }]);
  });

  it('replaces malformed bytes with U+FFFD instead of failing', () => {
    const parser = new SseParser();
    const bad = new Uint8Array([...bytes('data: a'), 0xff, 0xc3, ...bytes('b\n\n')]);
    expect(parser.push(bad)).toEqual([{ data: 'a\uFFFD\uFFFDb' }]);
  });

  it('does not carry a character cut off at the end into the next stream', () => {
    const parser = new SseParser();
    const euro = bytes('€');
    expect(parser.push(new Uint8Array([...bytes('data: x\n'), euro[0]!]))).toEqual([]);
    expect(parser.end()).toEqual([]);
    expect(parser.push(bytes('data: y\n\n'))).toEqual([{ data: 'y' }]);
  });

  it('strips a byte order mark split across chunks', () => {
    const parser = new SseParser();
    expect(parser.push(new Uint8Array([0xef, 0xbb]))).toEqual([]);
    expect(parser.push(new Uint8Array([0xbf, ...bytes('data: a\n\n')]))).toEqual([{ data: 'a' }]);
  });

  it('strips a leading byte order mark, from bytes and from strings', () => {
    expect(parseAll([new Uint8Array([0xef, 0xbb, 0xbf]), bytes('data: a\n\n')])).toEqual([
      { data: 'a' },
    ]);
    expect(parseAll(['\uFEFFdata: a\n\n'])).toEqual([{ data: 'a' }]);
  });

  it('keeps a colon-less field name intact when a later line has a colon', () => {
    expect(parseAll(['data\ndata: x:y\n\n'])).toEqual([{ data: '\nx:y' }]);
  });

  describe('a pending event past its size limit', () => {
    const tooLarge = (push: () => unknown): void => {
      let thrown: unknown;
      try {
        push();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(UpstreamError);
      expect(thrown).toMatchObject({ kind: 'invalid_response' });
      expect((thrown as Error).message).toMatch(/exceeds 64 characters/);
    };

    it('refuses a line that never ends, piece by piece', () => {
      const parser = new SseParser(64);
      expect(parser.push(`data: "${'x'.repeat(40)}`)).toEqual([]);
      tooLarge(() => parser.push('y'.repeat(40)));
    });

    it('refuses data lines that never reach the blank line ending their event', () => {
      const parser = new SseParser(64);
      expect(parser.push(`data: ${'a'.repeat(30)}\n`)).toEqual([]);
      tooLarge(() => parser.push(`data: ${'b'.repeat(40)}\n`));
    });

    it('counts only what is pending: many events of any total size pass', () => {
      const parser = new SseParser(64);
      const event = `data: ${'z'.repeat(50)}\n\n`;
      for (let i = 0; i < 100; i++) expect(parser.push(event)).toHaveLength(1);
      // A line split over pushes, its pieces within the limit together, passes too.
      expect(parser.push(`data: ${'q'.repeat(20)}`)).toEqual([]);
      expect(parser.push(`${'q'.repeat(20)}\n\n`)).toEqual([{ data: 'q'.repeat(40) }]);
    });
  });

  describe('end()', () => {
    it('delivers a last event whose lines are complete but lacks the blank line', () => {
      const parser = new SseParser();
      expect(parser.push('data: [DONE]\n')).toEqual([]);
      expect(parser.end()).toEqual([{ data: '[DONE]' }]);
    });

    it('discards an event whose last line is unterminated (possibly truncated)', () => {
      const parser = new SseParser();
      expect(parser.push('data: a\ndata: {"trunc')).toEqual([]);
      expect(parser.end()).toEqual([]);
    });

    it('returns nothing when the stream ended cleanly, and leaves the parser reusable', () => {
      const parser = new SseParser();
      expect(parser.push('id: 1\ndata: a\n\n')).toEqual([{ id: '1', data: 'a' }]);
      expect(parser.end()).toEqual([]);
      expect(parser.push('data: b\n\n')).toEqual([{ data: 'b' }]);
    });
  });
});

describe('SSE encoders', () => {
  it('encodes JSON as one data event that parses back to the same value', () => {
    const value = { text: 'multi\nline', n: 1 };
    const wire = encodeSseData(value);
    expect(wire).toBe('data: {"text":"multi\\nline","n":1}\n\n');
    const [ev] = parseAll([wire]);
    expect(JSON.parse(ev?.data ?? '')).toEqual(value);
  });

  it('encodes a named event', () => {
    expect(parseAll([encodeSseEvent('ping', { type: 'ping' })])).toEqual([
      { event: 'ping', data: '{"type":"ping"}' },
    ]);
  });

  it('ends OpenAI streams with the [DONE] sentinel', () => {
    expect(SSE_DONE).toBe('data: [DONE]\n\n');
    expect(parseAll([SSE_DONE])).toEqual([{ data: '[DONE]' }]);
  });
});
