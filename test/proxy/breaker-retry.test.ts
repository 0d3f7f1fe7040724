/**
 * The per-provider circuit breaker and the retry policy, through the real server: repeated
 * server errors open a breaker and routing skips that provider until a half-open trial
 * succeeds; retryable failures are retried on the same provider (honouring Retry-After
 * within maxDelayMs), never once a stream has started.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningProxy } from '../support/proxy.js';
import {
  Fixtures,
  chatBody,
  chatRequests,
  provider,
  proxyConfig,
  upstreamRequests,
} from './fallback-support.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const breakerState = (proxy: RunningProxy, name: string): Promise<number> =>
  proxy.metric('llm_proxy_circuit_breaker_state', { provider: name });

const retries = (proxy: RunningProxy, name: string): Promise<number> =>
  proxy.metric('llm_proxy_upstream_retries_total', { provider: name });

async function answeredBy(proxy: RunningProxy, content: string): Promise<string | null> {
  const { response } = await proxy.client.chat.completions.create(chatBody(content)).withResponse();
  return response.headers.get('x-llm-proxy-provider');
}

describe('circuit breaker', () => {
  it('opens after failureThreshold server errors, skips the provider while open, and closes after a good half-open trial', async () => {
    const a = await fx.upstream('a', { behaviour: 'fail' });
    const b = await fx.upstream('b');
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })], {
        breaker: { failureThreshold: 2, openMs: 600, halfOpenMaxTrials: 1 },
      }),
    );

    expect(await answeredBy(proxy, 'one')).toBe('beta');
    expect(await breakerState(proxy, 'alpha')).toBe(0);
    expect(await answeredBy(proxy, 'two')).toBe('beta');
    expect(await breakerState(proxy, 'alpha')).toBe(2);

    // Open: alpha is not even asked.
    expect(await answeredBy(proxy, 'three')).toBe('beta');
    expect(await answeredBy(proxy, 'four')).toBe('beta');
    expect(chatRequests(a)).toHaveLength(2);
    expect(await breakerState(proxy, 'alpha')).toBe(2);

    // After openMs the breaker admits a trial (reading the state is what turns it half-open).
    a.set({ behaviour: 'ok' });
    await expect
      .poll(() => proxy.app.engine.breakers.get('alpha')!.state, { timeout: 5_000, interval: 25 })
      .toBe('half_open');
    expect(await breakerState(proxy, 'alpha')).toBe(1);
    expect(await answeredBy(proxy, 'five')).toBe('alpha');
    expect(chatRequests(a)).toHaveLength(3);
    expect(await breakerState(proxy, 'alpha')).toBe(0);
    expect(await answeredBy(proxy, 'six')).toBe('alpha');
    await proxy.stop();
  });

  it('reopens when the half-open trial fails, while the other provider keeps serving', async () => {
    const a = await fx.upstream('a', { behaviour: 'fail' });
    const b = await fx.upstream('b');
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })], {
        breaker: { failureThreshold: 1, openMs: 300, halfOpenMaxTrials: 1 },
      }),
    );

    expect(await answeredBy(proxy, 'one')).toBe('beta');
    expect(await breakerState(proxy, 'alpha')).toBe(2);
    await expect
      .poll(() => proxy.app.engine.breakers.get('alpha')!.state, { timeout: 5_000, interval: 25 })
      .toBe('half_open');

    expect(await answeredBy(proxy, 'trial')).toBe('beta');
    expect(chatRequests(a)).toHaveLength(2);
    expect(await breakerState(proxy, 'alpha')).toBe(2);
    await proxy.stop();
  });

  it('reports a retry refused by a breaker that just opened as the failure it was, not as untried', async () => {
    const a = await fx.upstream('a', { behaviour: 'fail' });
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a)], {
        breaker: { failureThreshold: 1, openMs: 60_000, halfOpenMaxTrials: 1 },
        retries: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 10 },
      }),
    );

    const first = proxy.client.chat.completions.create(chatBody('opens it'));
    await expect(first).rejects.toMatchObject({ status: 502, message: /alpha: HTTP 500/ });
    expect(chatRequests(a)).toHaveLength(1);
    expect(await retries(proxy, 'alpha')).toBe(0);
    expect(await breakerState(proxy, 'alpha')).toBe(2);

    // Now it is open for real: nothing is sent, and the client is told so.
    const second = proxy.client.chat.completions.create(chatBody('refused'));
    await expect(second).rejects.toMatchObject({ status: 503, message: /alpha: circuit open/ });
    expect(chatRequests(a)).toHaveLength(1);
    await proxy.stop();
  });

  it('never opens on 4xx answers: they are about the request, not the provider', async () => {
    const a = await fx.upstream('a');
    const b = await fx.upstream('b');
    a.failNext(2, 400);
    a.failNext(2, 404);
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })], {
        breaker: { failureThreshold: 2, openMs: 60_000, halfOpenMaxTrials: 1 },
      }),
    );

    for (const content of ['one', 'two']) {
      await expect(proxy.client.chat.completions.create(chatBody(content))).rejects.toMatchObject({
        status: 400,
      });
    }
    // A 404 is not passed through (another provider may know the model) but is no failure.
    expect(await answeredBy(proxy, 'three')).toBe('beta');
    expect(await answeredBy(proxy, 'four')).toBe('beta');
    expect(await answeredBy(proxy, 'five')).toBe('alpha');

    expect(chatRequests(a)).toHaveLength(5);
    expect(await breakerState(proxy, 'alpha')).toBe(0);
    expect(await upstreamRequests(proxy, 'alpha', 'client_error')).toBe(4);
    await proxy.stop();
  });
});

describe('retries', () => {
  it('retries a 500 on the same provider, which answers the second time', async () => {
    const a = await fx.upstream('a');
    const b = await fx.upstream('b');
    a.failNext(1, 500);
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })], {
        retries: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 100 },
      }),
    );

    expect(await answeredBy(proxy, 'retry me')).toBe('alpha');
    expect(chatRequests(a)).toHaveLength(2);
    expect(b.requests).toBe(0);
    expect(await retries(proxy, 'alpha')).toBe(1);
    expect(await upstreamRequests(proxy, 'alpha', 'server_error')).toBe(1);
    await expect.poll(() => upstreamRequests(proxy, 'alpha', 'ok')).toBe(1);
    await proxy.stop();
  });

  it('waits out a 429 Retry-After of 1 s before retrying', async () => {
    const a = await fx.upstream('a');
    a.failNext(1, 429, 1);
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a)], {
        retries: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 2_000 },
      }),
    );

    expect(await answeredBy(proxy, 'rate limited')).toBe('alpha');

    const [first, second] = chatRequests(a);
    const waited = second!.at - first!.at;
    expect(waited).toBeGreaterThanOrEqual(990);
    expect(waited).toBeLessThan(1_900);
    expect(await retries(proxy, 'alpha')).toBe(1);
    expect(await upstreamRequests(proxy, 'alpha', 'rate_limited')).toBe(1);
    await proxy.stop();
  });

  it('falls back to the next provider at once when Retry-After exceeds maxDelayMs', async () => {
    const a = await fx.upstream('a');
    const b = await fx.upstream('b');
    a.failNext(1, 429, 5);
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })], {
        retries: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 1_000 },
      }),
    );

    expect(await answeredBy(proxy, 'too long a wait')).toBe('beta');

    expect(chatRequests(a)).toHaveLength(1);
    const fellBackAfter = chatRequests(b)[0]!.at - chatRequests(a)[0]!.at;
    expect(fellBackAfter).toBeLessThan(500);
    expect(await retries(proxy, 'alpha')).toBe(0);
    await proxy.stop();
  });

  it('never retries once the first byte of a stream has been relayed', async () => {
    const a = await fx.upstream('a', { behaviour: 'reset_mid_stream' });
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a)], {
        retries: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10 },
      }),
    );

    const stream = await proxy.client.chat.completions.create({
      ...chatBody('break after a while'),
      stream: true,
    });
    await expect(async () => {
      for await (const _chunk of stream) {
        // drain until the error event
      }
    }).rejects.toMatchObject({ code: 'upstream_stream_error' });

    expect(a.requests).toBe(1);
    expect(await retries(proxy, 'alpha')).toBe(0);
    await proxy.stop();
  });
});
