/**
 * The relay of an OpenAI stream under random framing and faults: events with every line
 * ending, multi-line data, comments and odd characters, split into chunks at random, and
 * broken after the first event (cut off mid-event, an event that is not JSON, a raw NUL,
 * invalid UTF-8). Whatever happens, what the client is sent is UTF-8, ends on an event
 * boundary after every frame (so an error event written next stands alone), and holds
 * exactly the valid events in order, up to the fault.
 */
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { openAiStream } from '../../src/providers/openai-stream.js';
import type { Frame } from '../../src/upstream/index.js';
import { SseParser } from '../../src/providers/sse.js';
import type { UpstreamBody } from '../../src/providers/upstream-response.js';
import { oddString, prng, type Rng } from './kit.js';

const SEED = 20_251_207;
const CASES = 1_500;
const FAULTS = ['none', 'cut', 'not_json', 'nul', 'invalid_utf8'] as const;
type Fault = (typeof FAULTS)[number];

interface Case {
  fault: Fault;
  chunks: Buffer[];
  failure: Error | undefined;
  /** The data of the events the client must get, in order. */
  expected: string[];
}

/** One event's bytes: an optional comment, its data (one line or pretty-printed), a blank line. */
function eventBytes(r: Rng, data: string | Buffer): Buffer {
  const eol = (): string => r.pick(['\n', '\r\n', '\r']);
  const parts: Buffer[] = [];
  if (r.chance(0.2)) parts.push(Buffer.from(`: ping${eol()}`));
  let ending = '\n';
  for (const line of Buffer.from(data).toString('latin1').split('\n')) {
    ending = eol();
    parts.push(Buffer.from(`data: ${line}${ending}`, 'latin1'));
  }
  // The same again: a LF after a lone CR would be read as the rest of a CRLF, not a blank line.
  parts.push(Buffer.from(ending));
  return Buffer.concat(parts);
}

function generate(r: Rng): Case {
  const count = r.int(2, 6);
  const fault = r.pick(FAULTS);
  const at = fault === 'none' ? count : r.int(1, count - 1);
  const events: Buffer[] = [];
  const expected: string[] = [];
  let failure: Error | undefined;
  for (let i = 0; i < count; i++) {
    const chunk = { id: 'r', n: i, choices: [{ delta: { content: oddString(r, 12) } }] };
    const data = JSON.stringify(chunk, null, r.chance(0.2) ? 1 : undefined);
    if (i !== at) {
      events.push(eventBytes(r, data));
      expected.push(data);
      continue;
    }
    const key = /"content": ?"/.exec(data)!;
    const open = key.index + key[0].length;
    const inside = (bytes: number[]): Buffer =>
      Buffer.concat([
        Buffer.from(data.slice(0, open)),
        Buffer.from(bytes),
        Buffer.from(data.slice(open)),
      ]);
    if (fault === 'cut') {
      const whole = eventBytes(r, data);
      events.push(whole.subarray(0, r.int(1, whole.length - 2)));
      failure = new Error('socket hang up');
      break;
    }
    if (fault === 'not_json') events.push(eventBytes(r, 'this is not json'));
    if (fault === 'nul') events.push(eventBytes(r, inside([0])));
    if (fault === 'invalid_utf8') {
      events.push(eventBytes(r, inside([0xff])));
      expected.push(`${data.slice(0, open)}\uFFFD${data.slice(open)}`);
      continue;
    }
    break;
  }
  if (failure === undefined && (fault === 'none' || fault === 'invalid_utf8')) {
    // Some servers close right after `data: [DONE]` and one line ending.
    events.push(Buffer.from(r.chance(0.2) ? 'data: [DONE]\n' : 'data: [DONE]\n\n'));
    expected.push('[DONE]');
  }
  return { fault, chunks: split(r, Buffer.concat(events)), failure, expected };
}

function split(r: Rng, all: Buffer): Buffer[] {
  if (r.chance(0.1)) return [...all].map((b) => Buffer.of(b));
  const cuts = Array.from({ length: r.int(0, 6) }, () => r.int(0, all.length)).sort(
    (a, b) => a - b,
  );
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, all.length]) {
    if (cut > from) pieces.push(all.subarray(from, cut));
    from = cut;
  }
  return pieces;
}

function scripted(chunks: Buffer[], failure: Error | undefined): UpstreamBody {
  const queue = [...chunks];
  return {
    next: () => {
      const value = queue.shift();
      if (value !== undefined) return Promise.resolve({ done: false, value });
      return failure === undefined
        ? Promise.resolve({ done: true, value: undefined })
        : Promise.reject(failure);
    },
    close: () => undefined,
  };
}

const SENTINEL = 'data: {"error":{"code":"sentinel"}}\n\n';

/** The data of every event in `bytes` and then in an error event written right after them. */
function withSentinel(bytes: Buffer): string[] {
  const parser = new SseParser();
  return [...parser.push(Buffer.concat([bytes, Buffer.from(SENTINEL)])), ...parser.end()].map(
    (e) => e.data,
  );
}

async function relay(c: Case): Promise<{ frames: Buffer[]; error: unknown }> {
  const frames: Buffer[] = [];
  const bytes = (f: Frame): Buffer => (typeof f === 'string' ? Buffer.from(f) : Buffer.from(f));
  let answer;
  try {
    answer = await openAiStream(
      scripted(c.chunks, c.failure),
      new AbortController().signal,
      undefined,
    );
  } catch (error) {
    return { frames, error };
  }
  frames.push(bytes(answer.first));
  try {
    for (;;) {
      const next = await answer.rest.next();
      if (next.done === true) return { frames, error: undefined };
      frames.push(bytes(next.value));
    }
  } catch (error) {
    return { frames, error };
  }
}

describe('relaying random OpenAI streams with random faults', () => {
  it(`sends only whole, valid events, in order, up to the fault (${CASES} cases)`, async () => {
    const r = prng(SEED);
    for (let i = 0; i < CASES; i++) {
      const c = generate(r);
      const { frames, error } = await relay(c);
      const label = `case ${i} (${c.fault})`;
      const faulty = c.fault !== 'none' && c.fault !== 'invalid_utf8';
      expect(error !== undefined, label).toBe(faulty);
      let sent = Buffer.alloc(0);
      for (const frame of frames) {
        sent = Buffer.concat([sent, frame]);
        expect(isUtf8(sent), label).toBe(true);
        // An error event written now is read as one, on its own.
        expect(withSentinel(sent).at(-1), label).toBe(SENTINEL.slice(6, -2));
      }
      const got = withSentinel(sent).slice(0, -1);
      // A fault in the first chunk fails over instead: nothing is sent at all.
      if (frames.length === 0)
        expect(c.fault === 'not_json' || c.fault === 'nul', label).toBe(true);
      else expect(got, label).toEqual(c.expected);
    }
  });
});
