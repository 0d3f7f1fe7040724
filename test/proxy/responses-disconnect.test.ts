/**
 * A Responses client that leaves in the middle of a stream: its request task is cancelled
 * with `client_gone`, which closes the upstream socket at once, whether the stream was
 * passed through (the upstream's /v1/responses) or translated (its /v1/chat/completions).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancellations } from './fallback-support.js';
import {
  NATIVE,
  TRANSLATED,
  postResponses,
  startResponsesRig,
  type ResponsesRig,
} from './responses-support.js';

/** As in disconnect.test.ts: 5-31 ms idle; room for a loaded two-core CI run. */
const DISCONNECT_WITHIN_MS = 750;
const CHUNKS = 10;

let rig: ResponsesRig;
beforeAll(async () => {
  rig = await startResponsesRig({ streamChunks: CHUNKS, chunkDelayMs: 100 });
});
afterAll(async () => {
  await rig.close();
});

/** Reads the SSE body until `n` text deltas have arrived. */
async function readDeltas(res: Response, n: number): Promise<void> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended after ${text}`);
    text += decoder.decode(value, { stream: true });
    if ((text.match(/event: response\.output_text\.delta/g) ?? []).length >= n) return;
  }
}

describe('POST /v1/responses: a client that leaves mid-stream', () => {
  it.each([
    { way: 'passed through', model: NATIVE, path: '/v1/responses' },
    { way: 'translated', model: TRANSLATED, path: '/v1/chat/completions' },
  ])('closes the upstream promptly ($way)', async ({ model, path }) => {
    const upstream = model === NATIVE ? rig.nat : rig.oai;
    const before = await cancellations(rig.proxy, 'http', 'client_gone');
    const controller = new AbortController();
    const res = await postResponses(
      rig,
      JSON.stringify({ model, input: 'a long answer please', stream: true }),
      controller.signal,
    );
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await readDeltas(res, 2);
    const abortedAt = Date.now();
    controller.abort();
    const gone = await upstream.waitFor((e) => e.kind === 'disconnect' && e.path === path);
    expect(gone.at - abortedAt).toBeLessThan(DISCONNECT_WITHIN_MS);
    expect(gone.chunksSent).toBeLessThan(CHUNKS);
    await expect.poll(() => cancellations(rig.proxy, 'http', 'client_gone')).toBe(before + 1);
  });
});
