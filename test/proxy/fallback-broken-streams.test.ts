/**
 * Upstreams that break: before the answer (reset, invalid JSON, an invalid first SSE event)
 * the engine fails over to the next provider; after the first streamed chunk it cannot (the
 * client holds half an answer), so the client's stream ends with an error event instead.
 */
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningProxy } from '../support/proxy.js';
import {
  Fixtures,
  attempts,
  chatBody,
  chatRequests,
  provider,
  proxyConfig,
  upstreamRequests,
} from './fallback-support.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** Streams a completion with the SDK; returns the text that arrived and how it ended. */
async function streamText(
  proxy: RunningProxy,
  content: string,
): Promise<{ text: string; provider: string | null; error: unknown }> {
  const { data: stream, response } = await proxy.client.chat.completions
    .create({ ...chatBody(content), stream: true })
    .withResponse();
  let text = '';
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  } catch (error) {
    return { text, provider: response.headers.get('x-llm-proxy-provider'), error };
  }
  return { text, provider: response.headers.get('x-llm-proxy-provider'), error: undefined };
}

describe('a stream that breaks after it has won', () => {
  it('ends the client stream with an error event when the winner resets mid-stream; nobody else is tried', async () => {
    // 'echo: abcdefghij' in 4 chunks; the reset comes after the second.
    const a = await fx.upstream('a', { behaviour: 'reset_mid_stream', streamChunks: 4 });
    const b = await fx.upstream('b');
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })], {
        retries: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10 },
      }),
    );

    const result = await streamText(proxy, 'abcdefghij');

    expect(result.provider).toBe('alpha');
    expect(result.text).toBe('echo: ab');
    expect(result.error).toBeInstanceOf(OpenAI.APIError);
    expect(result.error).toMatchObject({ code: 'upstream_stream_error' });
    // Says how it broke (a status line of ours, never the provider's own text).
    expect((result.error as Error).message).toMatch(/alpha broke off: connection error/);
    // Never retried, never failed over: exactly one upstream request in all.
    expect(a.requests).toBe(1);
    expect(b.requests).toBe(0);
    expect(await proxy.metric('llm_proxy_upstream_retries_total', { provider: 'alpha' })).toBe(0);
    expect(await attempts(proxy, 'alpha')).toEqual({ won: 1, lost: 0, failed: 0 });
    await expect.poll(() => upstreamRequests(proxy, 'alpha', 'connection')).toBe(1);
    expect(await upstreamRequests(proxy, 'alpha', 'ok')).toBe(0);
    await proxy.stop();
  });

  it('ends the client stream with an error event when the upstream stops without its end marker', async () => {
    const a = await fx.upstream('a', { behaviour: 'truncated_stream', streamChunks: 4 });
    const proxy = await fx.proxy(proxyConfig([provider('alpha', a)]));

    const result = await streamText(proxy, 'abcdefghij');

    expect(result.provider).toBe('alpha');
    expect(result.text).toBe('echo: abcdefghij');
    expect(result.error).toBeInstanceOf(OpenAI.APIError);
    expect(result.error).toMatchObject({ code: 'upstream_stream_truncated' });
    await expect.poll(() => upstreamRequests(proxy, 'alpha', 'invalid_response')).toBe(1);
    expect(await upstreamRequests(proxy, 'alpha', 'ok')).toBe(0);
    await proxy.stop();
  });
});

describe('an upstream that breaks before answering', () => {
  it('fails over to the next provider when the first SSE event is not valid', async () => {
    const a = await fx.upstream('a', { behaviour: 'invalid_sse' });
    const b = await fx.upstream('b');
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })]),
    );

    const result = await streamText(proxy, 'invalid first event');

    expect(result).toEqual({
      text: 'echo: invalid first event',
      provider: 'beta',
      error: undefined,
    });
    expect(await upstreamRequests(proxy, 'alpha', 'invalid_response')).toBe(1);
    expect(await attempts(proxy, 'alpha')).toEqual({ won: 0, lost: 0, failed: 1 });
    await proxy.stop();
  });

  it('fails over to the next provider when a JSON answer does not parse', async () => {
    const a = await fx.upstream('a', { behaviour: 'invalid_json' });
    const b = await fx.upstream('b');
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })]),
    );

    const { data, response } = await proxy.client.chat.completions
      .create(chatBody('invalid json'))
      .withResponse();

    expect(response.headers.get('x-llm-proxy-provider')).toBe('beta');
    expect(data.choices[0]!.message.content).toBe('echo: invalid json');
    expect(chatRequests(a)).toHaveLength(1);
    expect(await upstreamRequests(proxy, 'alpha', 'invalid_response')).toBe(1);
    expect(await attempts(proxy, 'alpha')).toEqual({ won: 0, lost: 0, failed: 1 });
    await proxy.stop();
  });

  it('fails over to the next provider when the connection is reset before any byte', async () => {
    const a = await fx.upstream('a', { behaviour: 'reset' });
    const b = await fx.upstream('b');
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })]),
    );

    const result = await streamText(proxy, 'reset early');

    expect(result).toEqual({ text: 'echo: reset early', provider: 'beta', error: undefined });
    expect(await upstreamRequests(proxy, 'alpha', 'connection')).toBe(1);
    await proxy.stop();
  });
});
