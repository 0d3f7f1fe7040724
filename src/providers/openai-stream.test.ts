import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { UpstreamError, type Frame } from '../upstream/index.js';
import { openAiStream } from './openai-stream.js';
import type { UpstreamBody } from './upstream-response.js';

const FIRST = 'data: {"id":"r","choices":[{"delta":{"role":"assistant"}}]}\n\n';
const SECOND = 'data: {"id":"r","choices":[{"delta":{"content":"hi"}}]}\n\n';

/** An upstream body that hands out `chunks` in order, then ends or fails with `failure`. */
function scripted(
  chunks: (string | Buffer)[],
  failure?: Error,
): UpstreamBody & { closed: boolean } {
  const queue = chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c));
  return {
    closed: false,
    next() {
      const value = queue.shift();
      if (value !== undefined) return Promise.resolve({ done: false, value });
      if (failure !== undefined) return Promise.reject(failure);
      return Promise.resolve({ done: true, value: undefined });
    },
    close() {
      this.closed = true;
    },
  };
}

const text = (f: Frame): string => (typeof f === 'string' ? f : Buffer.from(f).toString());

/** Reads the rest of a stream: the frames, as text, and what ended it. */
async function drain(rest: AsyncIterator<Frame>): Promise<{ frames: string[]; error: unknown }> {
  const frames: string[] = [];
  try {
    for (;;) {
      const next = await rest.next();
      if (next.done === true) return { frames, error: undefined };
      frames.push(text(next.value));
    }
  } catch (error) {
    return { frames, error };
  }
}

const open = (body: UpstreamBody) => openAiStream(body, new AbortController().signal, undefined);

describe('openAiStream', () => {
  it('hands on a chunk that ends on an event boundary as the very same buffer', async () => {
    const chunk = Buffer.from(SECOND);
    const answer = await open(scripted([FIRST, chunk, 'data: [DONE]\n\n']));
    expect((await answer.rest.next()).value).toBe(chunk);
  });

  it('never yields the part of an event that was cut off', async () => {
    const body = scripted([FIRST, SECOND + 'data: {"id":"r","obj'], new Error('socket hang up'));
    const answer = await open(body);
    const { frames, error } = await drain(answer.rest);
    expect(frames).toEqual([SECOND]);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(body.closed).toBe(true);
  });

  it('yields the valid events ahead of an invalid one in the same chunk, then fails', async () => {
    const body = scripted([FIRST, `${SECOND}data: not json\n\n${SECOND}`]);
    const answer = await open(body);
    const { frames, error } = await drain(answer.rest);
    expect(frames).toEqual([SECOND]);
    expect(error).toMatchObject({ kind: 'invalid_response', message: /invalid SSE event/ });
    expect(body.closed).toBe(true);
  });

  it.each([
    ['JSON that is not an object', 'data: [1,2]\n\n'],
    ['a raw NUL inside a string', 'data: {"a":"\0"}\n\n'],
    [
      'invalid UTF-8 outside a string',
      Buffer.from([...Buffer.from('data: {"a":1}'), 0xff, 10, 10]),
    ],
  ])('fails at an event after the first that is %s', async (_what, bad) => {
    const answer = await open(scripted([FIRST, bad]));
    const { frames, error } = await drain(answer.rest);
    expect(frames).toEqual([]);
    expect(error).toMatchObject({ kind: 'invalid_response' });
  });

  it('yields invalid UTF-8 inside a string as U+FFFD', async () => {
    const bad = Buffer.concat([
      Buffer.from('data: {"a":"x'),
      Buffer.of(0xff),
      Buffer.from('"}\n\n'),
    ]);
    const answer = await open(scripted([FIRST, bad]));
    const next = await answer.rest.next();
    const sent = Buffer.from(next.value as Frame);
    expect(isUtf8(sent)).toBe(true);
    expect(sent.toString()).toBe('data: {"a":"x\uFFFD"}\n\n');
  });

  it('ignores whatever follows the end marker', async () => {
    const answer = await open(scripted([FIRST, 'data: [DONE]\n\ndata: trailing junk\n\n']));
    const { error } = await drain(answer.rest);
    expect(error).toBeUndefined();
    expect(answer.stats.done).toBe(true);
  });

  it('completes a last event whose blank line never came', async () => {
    const answer = await open(scripted([FIRST, SECOND, 'data: [DONE]\n']));
    const { frames, error } = await drain(answer.rest);
    expect(error).toBeUndefined();
    expect(frames).toEqual([SECOND, 'data: [DONE]\n\n']);
    expect(answer.stats.done).toBe(true);
  });

  it('fails over (throws before answering) when an event in the first chunk is invalid', async () => {
    await expect(open(scripted([`${FIRST}data: nope\n\n`]))).rejects.toMatchObject({
      kind: 'invalid_response',
    });
  });

  it('makes the first frame of everything complete by the first event, and nothing more', async () => {
    const answer = await open(scripted(['data: {"id":', `"r"}\n\n${SECOND.slice(0, 9)}`]));
    expect(text(answer.first)).toBe('data: {"id":"r"}\n\n');
  });
});
