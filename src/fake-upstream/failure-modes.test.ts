import { isUtf8 } from 'node:buffer';
import { request } from 'node:http';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './index.js';

let up: FakeUpstream;

// A fresh upstream per test: knobs never leak from one test into the next.
beforeEach(async () => {
  up = await startFakeUpstream({ name: 'bh', streamChunks: 4 });
});
afterEach(() => up.close());

const CHAT = { model: 'm', messages: [{ role: 'user', content: 'hello' }] };
const ANTHROPIC = { 'anthropic-version': '2023-06-01' };

function chat(body: object = CHAT, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${up.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

function anthropic(body: object, headers: Record<string, string> = ANTHROPIC): Promise<Response> {
  return fetch(`${up.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

const ANTHROPIC_CHAT = { ...CHAT, max_tokens: 16 };

/** Reads a body until it ends or fails; returns what arrived and the failure, if any. */
async function readAll(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

/** The socket-level error code a raw node:http client sees for one request. */
function rawRequestError(path: string, body: object): Promise<string> {
  return new Promise((resolve) => {
    const req = request(`${up.url}${path}`, { method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      res.on('end', () => resolve('ended normally'));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end(JSON.stringify(body));
  });
}

describe("behaviour 'fail'", () => {
  it('answers 500 in OpenAI error shape on OpenAI routes', async () => {
    up.set({ behaviour: 'fail' });
    const res = await chat();
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({
      error: { type: 'server_error', message: /on purpose/ },
    });
  });

  it('answers 500 in Anthropic error shape on Anthropic routes', async () => {
    up.set({ behaviour: 'fail' });
    const res = await anthropic(ANTHROPIC_CHAT);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });
});

describe('failNext', () => {
  it('fails exactly the next N requests, then answers normally again', async () => {
    up.failNext(2, 503);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await chat()).status);
    expect(statuses).toEqual([503, 503, 200]);
  });

  it('gives a 429 the Retry-After it was asked for', async () => {
    up.failNext(1, 429, 7);
    const res = await anthropic(ANTHROPIC_CHAT);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toMatchObject({ error: { type: 'rate_limit_error' } });
  });

  it('is seen by the SDK as an APIError with the status', async () => {
    up.failNext(1);
    const client = new OpenAI({ baseURL: `${up.url}/v1`, apiKey: 'k', maxRetries: 0 });
    await expect(client.chat.completions.create(CHAT as never)).rejects.toMatchObject({
      status: 500,
    });
  });
});

describe("behaviour 'rate_limit'", () => {
  it('answers 429 with a Retry-After header of retryAfterSeconds', async () => {
    up.set({ behaviour: 'rate_limit', retryAfterSeconds: 3 });
    const res = await chat();
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(await res.json()).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
  });
});

describe('failRate', () => {
  it('fails about that share of requests, the same ones for the same seed', async () => {
    const run = async (): Promise<number[]> => {
      up.set({ failRate: 0.5, seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await chat()).status);
      return statuses;
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
    const failures = first.filter((s) => s === 500).length;
    expect(failures).toBeGreaterThan(3);
    expect(failures).toBeLessThan(17);
  });
});

describe('apiKey', () => {
  it('makes OpenAI routes require Authorization: Bearer KEY', async () => {
    up.set({ apiKey: 'sk-right' });
    const wrong = await chat(CHAT, { authorization: 'Bearer sk-wrong' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
    expect((await chat(CHAT, { 'x-api-key': 'sk-right' })).status).toBe(401);
    expect((await chat(CHAT, { authorization: 'Bearer sk-right' })).status).toBe(200);
  });

  it('makes Anthropic routes require x-api-key: KEY', async () => {
    up.set({ apiKey: 'sk-right' });
    const missing = await anthropic(ANTHROPIC_CHAT);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error' },
    });
    const bearer = await anthropic(ANTHROPIC_CHAT, {
      ...ANTHROPIC,
      authorization: 'Bearer sk-right',
    });
    expect(bearer.status).toBe(401);
    const good = await anthropic(ANTHROPIC_CHAT, { ...ANTHROPIC, 'x-api-key': 'sk-right' });
    expect(good.status).toBe(200);
  });

  it('keeps /v1/models behind the key too', async () => {
    up.set({ apiKey: 'sk-right' });
    expect((await fetch(`${up.url}/v1/models`)).status).toBe(401);
  });
});

describe("behaviour 'reset'", () => {
  it('drops the connection without an answer: the client sees ECONNRESET', async () => {
    up.set({ behaviour: 'reset' });
    expect(await rawRequestError('/v1/chat/completions', CHAT)).toBe('ECONNRESET');
    await expect(chat()).rejects.toThrow(TypeError);
  });
});

describe("behaviour 'reset_mid_stream'", () => {
  it('sends the role chunk and two content chunks, then drops the socket', async () => {
    up.set({ behaviour: 'reset_mid_stream' });
    const res = await chat({ ...CHAT, stream: true });
    expect(res.status).toBe(200);
    const { text, error } = await readAll(res);
    expect(error).toBeInstanceOf(TypeError);
    const deltas = text.match(/"delta":\{[^}]*\}/g);
    expect(deltas).toEqual([
      '"delta":{"role":"assistant","content":""}',
      '"delta":{"content":"ec"}',
      '"delta":{"content":"ho:"}',
    ]);
    expect(text).not.toContain('[DONE]');
    const complete = await up.waitFor((e) => e.kind !== 'request' && e.id === up.requests);
    expect(complete).toMatchObject({ kind: 'complete', chunksSent: 2 });
  });

  it('cuts an Anthropic stream after two text deltas', async () => {
    up.set({ behaviour: 'reset_mid_stream' });
    const res = await anthropic({ ...ANTHROPIC_CHAT, stream: true });
    const { text, error } = await readAll(res);
    expect(error).toBeInstanceOf(TypeError);
    expect(text.match(/^event: \w+/gm)).toEqual([
      'event: message_start',
      'event: content_block_start',
      'event: ping',
      'event: content_block_delta',
      'event: content_block_delta',
    ]);
  });

  it('cuts a JSON answer halfway and drops the socket', async () => {
    up.set({ behaviour: 'reset_mid_stream' });
    expect(await rawRequestError('/v1/chat/completions', CHAT)).toMatch(/ECONNRESET|aborted/);
  });
});

describe("behaviour 'invalid_json'", () => {
  it('answers 200 application/json with a body that does not parse', async () => {
    up.set({ behaviour: 'invalid_json' });
    const res = await chat();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const text = await res.text();
    expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);
  });
});

describe("behaviour 'invalid_sse'", () => {
  it('streams malformed data lines, then [DONE]', async () => {
    up.set({ behaviour: 'invalid_sse' });
    const res = await chat({ ...CHAT, stream: true });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const payloads = text
      .split('\n\n')
      .filter((b) => b.startsWith('data: '))
      .map((b) => b.slice(6));
    expect(payloads.at(-1)).toBe('[DONE]');
    for (const payload of payloads.slice(0, -1)) {
      expect(() => JSON.parse(payload) as unknown).toThrow(SyntaxError);
    }
  });
});

describe("behaviour 'truncated_stream'", () => {
  it('ends the response cleanly after the content, without finish_reason or [DONE]', async () => {
    up.set({ behaviour: 'truncated_stream' });
    const res = await chat({ ...CHAT, stream: true });
    const { text, error } = await readAll(res);
    expect(error).toBeUndefined();
    expect(text).toContain('"content":"llo"');
    expect(text).not.toContain('"finish_reason":"stop"');
    expect(text).not.toContain('[DONE]');
  });

  it('ends an Anthropic stream without message_delta or message_stop', async () => {
    up.set({ behaviour: 'truncated_stream' });
    const res = await anthropic({ ...ANTHROPIC_CHAT, stream: true });
    const text = await res.text();
    expect(text).toContain('content_block_delta');
    expect(text).not.toContain('message_stop');
    expect(text).not.toContain('message_delta');
  });
});

describe('streams that break after a valid first event', () => {
  /** The raw bytes of a streamed chat answer, read until the body ends or fails (or `upTo`). */
  async function streamBytes(
    signal?: AbortSignal,
    upTo = Infinity,
  ): Promise<{ bytes: Buffer; error: unknown }> {
    const res = await fetch(`${up.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ ...CHAT, stream: true }),
      ...(signal === undefined ? {} : { signal }),
    });
    const parts: Uint8Array[] = [];
    let size = 0;
    try {
      for await (const part of res.body as ReadableStream<Uint8Array>) {
        parts.push(part);
        size += part.length;
        if (size > upTo) break;
      }
    } catch (error) {
      return { bytes: Buffer.concat(parts), error };
    }
    return { bytes: Buffer.concat(parts), error: undefined };
  }
  const TWO_CHUNKS = /"content":"ec"\}.*\n\n.*"content":"ho:"\}.*\n\n/s;

  it("'break_mid_event' drops the socket halfway through the event after two content chunks", async () => {
    up.set({ behaviour: 'break_mid_event' });
    const { bytes, error } = await streamBytes();
    expect(error).toBeInstanceOf(TypeError);
    expect(bytes.toString()).toMatch(TWO_CHUNKS);
    expect(bytes.toString()).toMatch(/\n\ndata: \{"id":"chatcmpl-bh-1"[^\n]*$/);
  });

  it("'stall_mid_event' stops halfway through an event and sends nothing more", async () => {
    up.set({ behaviour: 'stall_mid_event' });
    const { bytes, error } = await streamBytes(AbortSignal.timeout(1_000));
    expect((error as Error).name).toMatch(/AbortError|TimeoutError/);
    expect(bytes.toString()).toMatch(/\n\ndata: \{"id":"chatcmpl-bh-1"[^\n]*$/);
  });

  it("'oversized_event' sends one unterminated line past 16 MiB", async () => {
    up.set({ behaviour: 'oversized_event' });
    const { bytes } = await streamBytes(undefined, 16 * 1024 * 1024 + 1024);
    const tail = bytes.subarray(bytes.lastIndexOf('\n\n') + 2);
    expect(tail.length).toBeGreaterThan(16 * 1024 * 1024);
    expect(tail.includes('\n')).toBe(false);
  });

  it("'non_json_event' puts a data line that is not JSON after two content chunks", async () => {
    up.set({ behaviour: 'non_json_event' });
    const text = (await streamBytes()).bytes.toString();
    expect(text).toMatch(TWO_CHUNKS);
    expect(text).toMatch(/"content":"ho:"\}.*\n\ndata: this is not json\n\n.*data: \[DONE\]\n\n$/s);
  });

  it("'invalid_utf8' and 'nul_event' put raw bytes inside the second content chunk's text", async () => {
    up.set({ behaviour: 'invalid_utf8' });
    const invalid = (await streamBytes()).bytes;
    expect(invalid.includes(Buffer.from([0x22, 0x80, 0xff, 0x68, 0x6f, 0x3a]))).toBe(true); // "..ho:
    expect(isUtf8(invalid)).toBe(false);
    up.set({ behaviour: 'nul_event' });
    const nul = (await streamBytes()).bytes.toString();
    expect(nul).toContain('"content":"\0ho:"');
    expect(nul).toMatch(/data: \[DONE\]\n\n$/);
  });

  it("'null_choice' answers 200 JSON whose choices are [null] (Anthropic: content)", async () => {
    up.set({ behaviour: 'null_choice' });
    expect(await (await chat()).json()).toMatchObject({ choices: [null] });
    const message = await (await anthropic(ANTHROPIC_CHAT)).json();
    expect(message).toMatchObject({ type: 'message', content: [null] });
  });
});

describe("behaviour 'slow_stream'", () => {
  it('spaces content chunks 200 ms apart by default', async () => {
    up.set({ behaviour: 'slow_stream', streamChunks: 3 });
    const started = performance.now();
    await (await chat({ ...CHAT, stream: true })).text();
    expect(performance.now() - started).toBeGreaterThanOrEqual(2 * 200 - 5);
  });

  it('uses chunkDelayMs instead when it is set', async () => {
    up.set({ behaviour: 'slow_stream', streamChunks: 3, chunkDelayMs: 10 });
    const started = performance.now();
    await (await chat({ ...CHAT, stream: true })).text();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(2 * 10 - 2);
    expect(elapsed).toBeLessThan(300);
  });
});

describe('latencyMs', () => {
  it('delays a JSON answer before its headers', async () => {
    up.set({ latencyMs: 120 });
    const started = performance.now();
    const res = await chat();
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
    expect(res.status).toBe(200);
  });

  it('sends SSE headers at once and delays the first event', async () => {
    up.set({ latencyMs: 300 });
    const started = performance.now();
    const res = await chat({ ...CHAT, stream: true });
    const headersAfter = performance.now() - started;
    await res.text();
    expect(headersAfter).toBeLessThan(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
  });
});

describe("behaviour 'hang'", () => {
  it('never answers until the client gives up', async () => {
    up.set({ behaviour: 'hang' });
    const res = fetch(`${up.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(CHAT),
      signal: AbortSignal.timeout(150),
    });
    await expect(res).rejects.toThrow(/aborted|timeout/i);
  });
});
