/**
 * POST /v1/messages refusals and failures in Anthropic's shape
 * `{"type":"error","error":{"type","message"}}`, every one of them (auth, body, model, size,
 * rate limit, upstream failures, the deadline), surfacing as the Anthropic SDK's typed
 * exceptions; auth by x-api-key or Bearer; a client leaving mid-stream closes the upstream.
 */
import Anthropic, {
  APIError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import {
  NATIVE,
  PROXY_KEY,
  TRANSLATED,
  post,
  sdk,
  startMessagesRig,
  type MessagesRig,
} from './messages-support.js';

let rig: MessagesRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function open(
  extra: Record<string, unknown> = {},
  upstream: { streamChunks?: number; chunkDelayMs?: number } = {},
): Promise<MessagesRig> {
  rig = await startMessagesRig(extra, upstream);
  return rig;
}

const hello = (model: string) => ({
  model,
  max_tokens: 16,
  messages: [{ role: 'user' as const, content: 'hello' }],
});

/** The answer's status and body, which must be an Anthropic error of `type`. */
async function expectAnthropicError(res: Response, status: number, type: string): Promise<string> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toEqual({ type: 'error', error: { type, message: expect.any(String) as unknown } });
  return (body.error as { message: string }).message;
}

describe('POST /v1/messages auth', () => {
  it('takes the key as x-api-key (the SDK default) or as a Bearer token', async () => {
    const r = await open();
    const bearer = new Anthropic({
      baseURL: r.proxy.url,
      apiKey: null,
      authToken: PROXY_KEY,
      maxRetries: 0,
    });
    const message = await bearer.messages.create(hello(NATIVE));
    expect(message.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
  });

  it('refuses a wrong x-api-key: AuthenticationError, authentication_error', async () => {
    const r = await open();
    const wrong = sdk(r.proxy.url, [], [], 'sk-wrong');
    await expect(wrong.messages.create(hello(NATIVE))).rejects.toBeInstanceOf(AuthenticationError);
    const res = await post(r, '/v1/messages', JSON.stringify(hello(NATIVE)), {
      'x-api-key': 'sk-wrong',
    });
    await expectAnthropicError(res, 401, 'authentication_error');
    expect(r.ant.requests).toBe(0);
  });
});

describe('POST /v1/messages request errors', () => {
  it('is a NotFoundError (not_found_error) for a model no provider serves', async () => {
    const r = await open();
    const err = await r.client.messages.create(hello('claude-nope')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).message).toContain("'claude-nope'");
  });

  it('is a BadRequestError naming the field for an invalid body', async () => {
    const r = await open();
    const body = { model: NATIVE, messages: [{ role: 'user', content: 'hi' }] };
    const err = await r.client.messages
      .create(body as unknown as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toContain('max_tokens: Field required');
    const res = await post(r, '/v1/messages', JSON.stringify(body));
    expect(await expectAnthropicError(res, 400, 'invalid_request_error')).toBe(
      'max_tokens: Field required',
    );
  });

  it('is invalid_request_error for a body that is not JSON', async () => {
    const r = await open();
    const res = await post(r, '/v1/messages', '{"model":');
    expect(await expectAnthropicError(res, 400, 'invalid_request_error')).toContain('JSON');
  });

  it('is request_too_large (413) for a body past the limit', async () => {
    const r = await open({ server: { port: 0, bodyLimitBytes: 1024 } });
    const body = JSON.stringify({ ...hello(NATIVE), system: 'x'.repeat(4096) });
    await expectAnthropicError(await post(r, '/v1/messages', body), 413, 'request_too_large');
  });

  it('is a RateLimitError (rate_limit_error) past the key rate limit, with Retry-After', async () => {
    const r = await open({
      auth: { apiKeys: [PROXY_KEY], rateLimit: { requestsPerMinute: 1 } },
    });
    await r.client.messages.create(hello(NATIVE));
    const err = await r.client.messages.create(hello(NATIVE)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const res = await post(r, '/v1/messages', JSON.stringify(hello(NATIVE)));
    await expectAnthropicError(res, 429, 'rate_limit_error');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('POST /v1/messages upstream failures', () => {
  it.each([NATIVE, TRANSLATED])('answers an upstream 500 as api_error, 502 (%s)', async (model) => {
    const r = await open();
    r.ant.failNext(1, 500);
    r.oai.failNext(1, 500);
    const err = await r.client.messages.create(hello(model)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(502);
    expect((err as APIError).error).toEqual({
      type: 'error',
      error: { type: 'api_error', message: expect.stringContaining('HTTP 500') as unknown },
    });
  });

  it('answers a chat answer it cannot translate (choices: [null]) as api_error, 502', async () => {
    const r = await open();
    r.oai.set({ behaviour: 'null_choice' });
    const res = await post(r, '/v1/messages', JSON.stringify(hello(TRANSLATED)));
    expect(await expectAnthropicError(res, 502, 'api_error')).toContain('gpt');
  });

  it('answers a provider cooling down after a 429 as overloaded_error (503), Retry-After', async () => {
    const r = await open();
    r.ant.failNext(1, 429, 30);
    const res = await post(r, '/v1/messages', JSON.stringify(hello(NATIVE)));
    await expectAnthropicError(res, 503, 'overloaded_error');
    expect(res.headers.get('retry-after')).toBe('30');
  });

  it('answers the request deadline (504) as api_error', async () => {
    const r = await open({ server: { port: 0, requestTimeoutMs: 300 } }, { chunkDelayMs: 0 });
    r.ant.set({ latencyMs: 5_000 });
    const res = await post(r, '/v1/messages', JSON.stringify(hello(NATIVE)));
    await expectAnthropicError(res, 504, 'api_error');
  });
});

/** Reads SSE until `n` content_block_delta events have arrived. */
async function readDeltas(res: Response, n: number): Promise<void> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended after ${text}`);
    text += decoder.decode(value, { stream: true });
    if ((text.match(/event: content_block_delta/g) ?? []).length >= n) return;
  }
}

describe('POST /v1/messages client disconnects', () => {
  it.each([
    { model: NATIVE, upstream: 'ant', path: '/v1/messages' },
    { model: TRANSLATED, upstream: 'oai', path: '/v1/chat/completions' },
  ] as const)(
    'closes the upstream when the client leaves mid-stream ($upstream)',
    async ({ model, upstream, path }) => {
      const r = await open({}, { streamChunks: 5, chunkDelayMs: 2_000 });
      const controller = new AbortController();
      const body = JSON.stringify({ ...hello(model), stream: true });
      const res = await post(r, '/v1/messages', body, {}, controller.signal);
      await readDeltas(res, 1);
      const abortedAt = Date.now();
      controller.abort();
      const gone = await r[upstream].waitFor((e) => e.kind === 'disconnect' && e.path === path);
      expect(gone.at - abortedAt).toBeLessThan(750);
      expect(gone.stream).toBe(true);
    },
  );
});
