/**
 * Streams that break after a valid first event, seen through the official OpenAI SDK: the
 * client gets the complete events that arrived and then an error event of its own, on a
 * fresh line, so the SDK raises an APIError (never a SyntaxError from half an event glued to
 * ours). Invalid UTF-8 reaches the client as U+FFFD; a 200 JSON answer whose choices are not
 * all objects fails over before anything is sent.
 */
import { isUtf8 } from 'node:buffer';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeUpstreamOptions } from '../../src/fake-upstream/index.js';
import type { RunningProxy } from '../support/proxy.js';
import {
  Fixtures,
  attempts,
  chatBody,
  provider,
  proxyConfig,
  upstreamRequests,
} from './fallback-support.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** One provider in front of a fake upstream with `options`; `extra` goes on the provider. */
async function proxyFor(
  options: FakeUpstreamOptions,
  extra: Record<string, unknown> = {},
): Promise<RunningProxy> {
  const up = await fx.upstream('a', { streamChunks: 4, ...options });
  return fx.proxy(proxyConfig([provider('alpha', up, extra)]));
}

/** Streams with the SDK: the content that arrived and what the iteration threw, if anything. */
async function sdkStream(proxy: RunningProxy): Promise<{ text: string; error: unknown }> {
  const stream = await proxy.client.chat.completions.create({
    ...chatBody('abcdefghij'),
    stream: true,
  });
  let text = '';
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  } catch (error) {
    return { text, error };
  }
  return { text, error: undefined };
}

/** The raw SSE body the proxy writes for the same request. */
async function rawStream(proxy: RunningProxy): Promise<Buffer> {
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...chatBody('abcdefghij'), stream: true }),
  });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** Every event of a body, each required to be complete: `data: <JSON or [DONE]>` + blank line. */
function completeEvents(body: string): unknown[] {
  expect(body.endsWith('\n\n')).toBe(true);
  return body
    .slice(0, -2)
    .split('\n\n')
    .map((event) => {
      expect(event).toMatch(/^data: /);
      const data = event.slice('data: '.length);
      return data === '[DONE]' ? data : (JSON.parse(data) as unknown);
    });
}

/** The SDK saw an APIError with our code; the raw body ends with that complete error event. */
async function expectCleanErrorEnd(
  proxy: RunningProxy,
  text: string,
  code: string,
): Promise<unknown[]> {
  const result = await sdkStream(proxy);
  expect(result.error).toBeInstanceOf(OpenAI.APIError);
  expect(result.error).not.toBeInstanceOf(SyntaxError);
  expect(result.error).toMatchObject({ code });
  expect(result.text).toBe(text);

  const events = completeEvents((await rawStream(proxy)).toString('utf8'));
  expect(events.at(-1)).toMatchObject({ error: { code } });
  return events;
}

describe('a stream that breaks inside an event', () => {
  it('drops the partial event and ends with a complete error event when the upstream breaks off', async () => {
    const proxy = await proxyFor({ behaviour: 'break_mid_event' });
    await expectCleanErrorEnd(proxy, 'echo: ab', 'upstream_stream_error');
    await proxy.stop();
  });

  it('drops the partial event and ends with a complete error event when the read times out', async () => {
    const proxy = await proxyFor({ behaviour: 'stall_mid_event' }, { timeoutMs: 500 });
    await expectCleanErrorEnd(proxy, 'echo: ab', 'upstream_stream_error');
    await expect.poll(() => upstreamRequests(proxy, 'alpha', 'timeout')).toBe(2);
    await proxy.stop();
  });

  it('refuses an event over 16 MiB without relaying any of it', async () => {
    const proxy = await proxyFor({ behaviour: 'oversized_event' });
    const events = await expectCleanErrorEnd(proxy, 'echo: ab', 'upstream_stream_error');
    expect(events.at(-1)).toMatchObject({ error: { message: /exceeds 16777216 characters/ } });
    await proxy.stop();
  });
});

describe('events after the first that the SDK could not parse', () => {
  it('ends the stream with an error event at a data line that is not JSON', async () => {
    const proxy = await proxyFor({ behaviour: 'non_json_event' });
    const events = await expectCleanErrorEnd(proxy, 'echo: ab', 'upstream_stream_error');
    expect(events.at(-1)).toMatchObject({ error: { message: /invalid SSE event/ } });
    await expect.poll(() => upstreamRequests(proxy, 'alpha', 'invalid_response')).toBe(2);
    await proxy.stop();
  });

  it('ends the stream with an error event at a raw NUL inside a JSON string', async () => {
    const proxy = await proxyFor({ behaviour: 'nul_event' });
    await expectCleanErrorEnd(proxy, 'echo', 'upstream_stream_error');
    await proxy.stop();
  });

  it('relays invalid UTF-8 inside a string as U+FFFD, so the client only ever gets UTF-8', async () => {
    const proxy = await proxyFor({ behaviour: 'invalid_utf8' });

    const result = await sdkStream(proxy);
    expect(result.error).toBeUndefined();
    expect(result.text).toBe('echo\uFFFD\uFFFD: abcdefghij');

    const body = await rawStream(proxy);
    expect(isUtf8(body)).toBe(true);
    expect(completeEvents(body.toString('utf8')).at(-1)).toBe('[DONE]');
    await proxy.stop();
  });
});

describe('the same faults from an Anthropic upstream, translated event by event', () => {
  it.each(['break_mid_event', 'non_json_event', 'nul_event'] as const)(
    "'%s' ends the stream with a complete error event",
    async (behaviour) => {
      const proxy = await proxyFor({ behaviour }, { type: 'anthropic' });
      const result = await sdkStream(proxy);
      expect(result.error).toBeInstanceOf(OpenAI.APIError);
      expect(result.error).toMatchObject({ code: 'upstream_stream_error' });
      const events = completeEvents((await rawStream(proxy)).toString('utf8'));
      expect(events.at(-1)).toMatchObject({ error: { code: 'upstream_stream_error' } });
      await proxy.stop();
    },
  );

  it("'invalid_utf8' arrives as U+FFFD in valid UTF-8", async () => {
    const proxy = await proxyFor({ behaviour: 'invalid_utf8' }, { type: 'anthropic' });
    const result = await sdkStream(proxy);
    expect(result.error).toBeUndefined();
    expect(result.text).toBe('echo\uFFFD\uFFFD: abcdefghij');
    expect(isUtf8(await rawStream(proxy))).toBe(true);
    await proxy.stop();
  });
});

describe('a 200 JSON answer with a choice that is not an object', () => {
  it('is an invalid response: the next provider answers instead', async () => {
    const a = await fx.upstream('a', { behaviour: 'null_choice' });
    const b = await fx.upstream('b');
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })]),
    );

    const { data, response } = await proxy.client.chat.completions
      .create(chatBody('null choice'))
      .withResponse();

    expect(response.headers.get('x-llm-proxy-provider')).toBe('beta');
    expect(data.choices[0]!.message.content).toBe('echo: null choice');
    expect(await upstreamRequests(proxy, 'alpha', 'invalid_response')).toBe(1);
    expect(await attempts(proxy, 'alpha')).toEqual({ won: 0, lost: 0, failed: 1 });
    await proxy.stop();
  });

  it('is a 502 when no provider is left', async () => {
    const proxy = await proxyFor({ behaviour: 'null_choice' });
    await expect(proxy.client.chat.completions.create(chatBody('x'))).rejects.toMatchObject({
      status: 502,
    });
    await proxy.stop();
  });
});
