/**
 * Counting is bounded in time and never holds the event loop: a message of one long run
 * (200,000 letters, 60,000 CJK characters) used to take 16-17 s of synchronous encoding.
 * Bounds are generous (a noisy 2-core box); the measurements are in text-segments.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { countMessageTokens, createTokenCounter, loadTokenizer } from './tokens.js';
import type { ChatMessage } from './types.js';

beforeAll(loadTokenizer);

/** `n` CJK ideographs from a fixed seed: no two runs alike, so no cache makes them cheap. */
function ideographs(n: number, seed = 7): string {
  let x = seed;
  let s = '';
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += String.fromCharCode(0x4e00 + (x % 20_000));
  }
  return s;
}

const user = (content: string): ChatMessage[] => [{ role: 'user', content }];
const live = (): AbortSignal => new AbortController().signal;

async function timed<T>(work: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

describe('counting a message of one long run', () => {
  it('counts 200,000 letters without a space in bounded time (under 5 s; it took 17 s)', async () => {
    const messages = user('a'.repeat(200_000));
    const sync = await timed(() => countMessageTokens(messages));
    expect(sync.ms).toBeLessThan(5_000);
    // About 8 letters a token, as for shorter runs of the same letter.
    expect(sync.value).toBeGreaterThan(20_000);
    expect(sync.value).toBeLessThan(30_000);
    const counter = createTokenCounter();
    const paced = await timed(() => counter.measure(messages, live()));
    expect(paced.ms).toBeLessThan(5_000);
    expect(counter.count(messages)).toBe(sync.value);
  });

  it('counts 60,000 CJK characters without punctuation in bounded time (under 5 s; it took 16 s)', async () => {
    const messages = user(ideographs(60_000));
    const counter = createTokenCounter();
    const { ms } = await timed(() => counter.measure(messages, live()));
    expect(ms).toBeLessThan(5_000);
    expect(counter.count(messages)).toBeGreaterThan(60_000);
  });

  it('gives the event loop back while it counts', async () => {
    const messages = user(ideographs(60_000, 11));
    let turns = 0;
    let spinning = true;
    const spin = (): void => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const counter = createTokenCounter();
    const started = turns;
    await counter.measure(messages, live());
    const during = turns - started;
    spinning = false;
    // Every SLICE_MS of encoding; the whole count takes ~300 ms here.
    expect(during).toBeGreaterThanOrEqual(2);
  });

  it('stops counting, rejecting with the reason, when the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('request timed out');
    setTimeout(() => controller.abort(reason), 30);
    const counter = createTokenCounter();
    const messages = user(ideographs(200_000, 13));
    await expect(counter.measure(messages, controller.signal)).rejects.toBe(reason);
    expect(() => counter.count(messages)).toThrow(/measure/);
  });

  it('does not start counting for a signal already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(createTokenCounter().measure(user('hi'), controller.signal)).rejects.toThrow(
      'gone',
    );
  });
});
