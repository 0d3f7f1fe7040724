import { describe, expect, it } from 'vitest';
import { SseFramer } from './sse-framer.js';
import { SseParser, type SseEvent } from './sse.js';

// Mixed line endings, comments, multi-line data, a CR/LF pair that splits across chunks.
const SAMPLE =
  ': keep-alive\n' +
  'data: {"a":1}\r\n' +
  '\r\n' +
  'data: line one\r' +
  'data: line two\r' +
  '\r' +
  'event: ping\n' +
  'data: {"b":2}\n' +
  '\n\r\n' +
  'data: {"c":"é"}\r\n\n' +
  'data: [DONE]\n\n';

/** Index just past the last blank line in `text`, found the slow, obvious way. */
function lastBoundary(text: string): number {
  let run = 0;
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n' && text[i - 1] === '\r') {
      if (run >= 2) last = i + 1;
    } else if (c === '\n' || c === '\r') {
      run++;
      if (run >= 2) last = i + 1;
    } else {
      run = 0;
    }
  }
  return last;
}

function parse(bytes: Buffer): SseEvent[] {
  const parser = new SseParser();
  return [...parser.push(bytes), ...parser.end()];
}

/** Feeds `pieces`; after each, what was relayed must be exactly the complete events so far. */
function checkSplit(pieces: Buffer[]): void {
  const framer = new SseFramer();
  const streaming = new SseParser();
  const seen: SseEvent[] = [];
  const relayed: Buffer[] = [];
  let fed = '';
  for (const piece of pieces) {
    fed += piece.toString('latin1');
    seen.push(...streaming.push(piece));
    const out = framer.take(piece);
    if (out !== undefined) relayed.push(out);
    const sent = Buffer.concat(relayed);
    expect(sent.length).toBe(lastBoundary(fed));
    expect(parse(sent)).toEqual(seen);
  }
}

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('SseFramer', () => {
  it('passes a chunk that ends on a boundary through as the very same buffer', () => {
    const framer = new SseFramer();
    const chunk = bytes('data: {"a":1}\n\ndata: {"b":2}\n\n');
    expect(framer.take(chunk)).toBe(chunk);
  });

  it('holds an event split across chunks and sends it whole with the chunk that completes it', () => {
    const framer = new SseFramer();
    expect(framer.take(bytes('data: {"a":1}\n\ndata: {"b"'))?.toString()).toBe('data: {"a":1}\n\n');
    expect(framer.take(bytes(':2}\n'))).toBeUndefined();
    expect(framer.take(bytes('\ndata: {"c"'))?.toString()).toBe('data: {"b":2}\n\n');
  });

  it('cuts at the last blank line under every two-way split of a stream', () => {
    const all = bytes(SAMPLE);
    for (let i = 0; i <= all.length; i++) checkSplit([all.subarray(0, i), all.subarray(i)]);
  });

  it('cuts at the last blank line when fed one byte at a time', () => {
    const all = bytes(SAMPLE);
    checkSplit([...all].map((b) => Buffer.of(b)));
  });

  it('does not count a CR ending one chunk and a LF starting the next as two line endings', () => {
    const framer = new SseFramer();
    expect(framer.take(bytes('data: {"a":1}\r'))).toBeUndefined();
    expect(framer.take(bytes('\ndata: {"b":2}\r\n'))).toBeUndefined();
    expect(framer.take(bytes('\r\n'))?.toString()).toBe('data: {"a":1}\r\ndata: {"b":2}\r\n\r\n');
  });

  describe('end()', () => {
    it('completes a held event whose blank line never came, with the same line ending', () => {
      const framer = new SseFramer();
      expect(framer.take(bytes('data: [DONE]\n'))).toBeUndefined();
      expect(framer.end(true)?.toString()).toBe('data: [DONE]\n\n');
      expect(framer.take(bytes('data: [DONE]\r'))).toBeUndefined();
      expect(framer.end(true)?.toString()).toBe('data: [DONE]\r\r');
    });

    it('drops held bytes that hold no complete event', () => {
      const framer = new SseFramer();
      expect(framer.take(bytes('data: {"id":"r","object":"chat.compl'))).toBeUndefined();
      expect(framer.end(false)).toBeUndefined();
      expect(framer.end(true)).toBeUndefined();
    });
  });
});
