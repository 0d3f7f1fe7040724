/**
 * Sequential routing through the real server: providers are tried one after another in
 * priority order; a failure moves on at once, the last failure answers the client with a
 * summary of every attempt, and a 4xx about the request itself is passed through.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Fixtures,
  MODEL,
  apiError,
  attempts,
  chatBody,
  chatDisconnect,
  chatRequests,
  provider,
  proxyConfig,
  upstreamRequests,
} from './fallback-support.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

describe('sequential fallback', () => {
  it('answers from the second provider when the first answers 500', async () => {
    const a = await fx.upstream('a', { behaviour: 'fail' });
    const b = await fx.upstream('b');
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })]),
    );

    const { data, response } = await proxy.client.chat.completions
      .create(chatBody('first fails'))
      .withResponse();

    expect(response.headers.get('x-llm-proxy-provider')).toBe('beta');
    expect(data.choices[0]!.message.content).toBe('echo: first fails');
    expect(chatRequests(a)).toHaveLength(1);
    expect(chatRequests(b)).toHaveLength(1);
    await expect.poll(() => upstreamRequests(proxy, 'beta', 'ok')).toBe(1);
    expect(await upstreamRequests(proxy, 'alpha', 'server_error')).toBe(1);
    expect(await attempts(proxy, 'alpha')).toEqual({ won: 0, lost: 0, failed: 1 });
    expect(await attempts(proxy, 'beta')).toEqual({ won: 1, lost: 0, failed: 0 });
    await proxy.stop();
  });

  it('gives up on a hanging provider after its timeoutMs, closes its socket, then asks the next', async () => {
    const a = await fx.upstream('a', { behaviour: 'hang' });
    const b = await fx.upstream('b');
    const proxy = await fx.proxy(
      proxyConfig([
        provider('alpha', a, { priority: 1, timeoutMs: 150 }),
        provider('beta', b, { priority: 2 }),
      ]),
    );

    const started = performance.now();
    const { response } = await proxy.client.chat.completions
      .create(chatBody('first hangs'))
      .withResponse();
    const elapsed = performance.now() - started;

    expect(response.headers.get('x-llm-proxy-provider')).toBe('beta');
    // timeoutMs is honoured to the millisecond scale, not rounded up to a coarse timer tick.
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(900);
    await chatDisconnect(a);
    expect(await upstreamRequests(proxy, 'alpha', 'timeout')).toBe(1);
    expect(await attempts(proxy, 'alpha')).toEqual({ won: 0, lost: 0, failed: 1 });
    expect(await attempts(proxy, 'beta')).toMatchObject({ won: 1 });
    await proxy.stop();
  });

  it('answers 502 naming every provider as soon as the last one failed, without waiting out timeouts', async () => {
    const a = await fx.upstream('a', { behaviour: 'fail' });
    const b = await fx.upstream('b', { behaviour: 'fail' });
    const proxy = await fx.proxy(
      proxyConfig([
        provider('alpha', a, { priority: 1, timeoutMs: 20_000 }),
        provider('beta', b, { priority: 2, timeoutMs: 20_000 }),
      ]),
    );

    const started = performance.now();
    const err = await apiError(proxy.client.chat.completions.create(chatBody('all fail')));
    const elapsed = performance.now() - started;

    expect(err.status).toBe(502);
    expect(err.code).toBe('upstream_failed');
    expect(err.message).toMatch(/alpha: HTTP 500/);
    expect(err.message).toMatch(/beta: HTTP 500/);
    expect(elapsed).toBeLessThan(2_000);
    expect(await attempts(proxy, 'alpha')).toEqual({ won: 0, lost: 0, failed: 1 });
    expect(await attempts(proxy, 'beta')).toEqual({ won: 0, lost: 0, failed: 1 });
    await proxy.stop();
  });

  it('answers 504 when every provider timed out', async () => {
    const a = await fx.upstream('a', { behaviour: 'hang' });
    const b = await fx.upstream('b', { behaviour: 'hang' });
    const proxy = await fx.proxy(
      proxyConfig([
        provider('alpha', a, { priority: 1, timeoutMs: 100 }),
        provider('beta', b, { priority: 2, timeoutMs: 100 }),
      ]),
    );

    const started = performance.now();
    const err = await apiError(proxy.client.chat.completions.create(chatBody('all hang')));

    expect(err.status).toBe(504);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(err.message).toMatch(/alpha: timeout/);
    expect(err.message).toMatch(/beta: timeout/);
    await chatDisconnect(a);
    await chatDisconnect(b);
    expect(await upstreamRequests(proxy, 'alpha', 'timeout')).toBe(1);
    expect(await upstreamRequests(proxy, 'beta', 'timeout')).toBe(1);
    await proxy.stop();
  });

  it("answers 503 with the soonest provider's Retry-After when every provider is rate limited", async () => {
    const a = await fx.upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 30 });
    const b = await fx.upstream('b', { behaviour: 'rate_limit', retryAfterSeconds: 7 });
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })]),
    );

    const err = await apiError(proxy.client.chat.completions.create(chatBody('all limited')));

    expect(err.status).toBe(503);
    expect(err.headers?.get('retry-after')).toBe('7');
    expect(err.message).toMatch(/alpha: HTTP 429/);
    expect(err.message).toMatch(/beta: HTTP 429/);
    await proxy.stop();
  });

  it("passes an upstream 400 through as 400 with the upstream's message, trying nobody else", async () => {
    const a = await fx.upstream('a');
    const b = await fx.upstream('b');
    a.failNext(1, 400);
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })]),
    );

    const err = await apiError(proxy.client.chat.completions.create(chatBody('bad request')));

    expect(err.status).toBe(400);
    expect(err.message).toMatch(/answered 400 on purpose/);
    expect(chatRequests(b)).toHaveLength(0);
    expect(await upstreamRequests(proxy, 'alpha', 'client_error')).toBe(1);
    expect(await attempts(proxy, 'alpha')).toEqual({ won: 0, lost: 0, failed: 1 });
    expect(await attempts(proxy, 'beta')).toEqual({ won: 0, lost: 0, failed: 0 });
    await proxy.stop();
  });

  it("passes through a 400 in vLLM's own error shape too, instead of failing over", async () => {
    // A real HTTP server in vLLM's wire format for errors: top-level message, numeric code.
    const vllm = createServer((req, res) => {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          object: 'error',
          message: "This model's maximum context length is 4096 tokens.",
          type: 'BadRequestError',
          param: null,
          code: 400,
        }),
      );
    });
    vllm.listen(0, '127.0.0.1');
    await once(vllm, 'listening');
    try {
      const b = await fx.upstream('b');
      const proxy = await fx.proxy(
        proxyConfig([
          {
            name: 'alpha',
            type: 'openai',
            baseUrl: `http://127.0.0.1:${(vllm.address() as AddressInfo).port}/v1`,
            models: [MODEL],
            priority: 1,
          },
          provider('beta', b, { priority: 2 }),
        ]),
      );

      const err = await apiError(proxy.client.chat.completions.create(chatBody('too long')));

      expect(err.status).toBe(400);
      expect(err.message).toMatch(/maximum context length is 4096 tokens/);
      expect(chatRequests(b)).toHaveLength(0);
      expect(await upstreamRequests(proxy, 'alpha', 'client_error')).toBe(1);
      await proxy.stop();
    } finally {
      vllm.closeAllConnections();
      vllm.close();
    }
  });
});
