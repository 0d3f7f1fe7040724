/**
 * Rate-limit cooldowns through the real server: a provider that answered 429 with
 * Retry-After is remembered as cooling down until then. Requests in the meantime skip it
 * (like an open circuit), or, when every candidate is cooling down, get the all-rate-limited
 * 503 with the soonest Retry-After at once, without an upstream call. When the cooldown ends
 * the provider is tried again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningProxy } from '../support/proxy.js';
import {
  Fixtures,
  apiError,
  chatBody,
  chatRequests,
  provider,
  proxyConfig,
} from './fallback-support.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answeredBy(proxy: RunningProxy, content: string): Promise<string | null> {
  const { response } = await proxy.client.chat.completions.create(chatBody(content)).withResponse();
  return response.headers.get('x-llm-proxy-provider');
}

const cooldownSeconds = (proxy: RunningProxy, name: string): Promise<number> =>
  proxy.metric('llm_proxy_provider_cooldown_seconds', { provider: name });

describe('rate-limit cooldown', () => {
  it('sends nothing to a provider cooling down after a 429: 50 more requests cost no upstream call, each answered 503 with Retry-After', async () => {
    // 30 s rather than the 2 s of the report: 50 requests must fit in it on a loaded machine.
    const a = await fx.upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 30 });
    const proxy = await fx.proxy(proxyConfig([provider('alpha', a)]));

    const first = await apiError(proxy.client.chat.completions.create(chatBody('first')));
    expect(first.status).toBe(503);
    expect(first.headers?.get('retry-after')).toBe('30');
    expect(chatRequests(a)).toHaveLength(1);

    const during = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        apiError(proxy.client.chat.completions.create(chatBody(`during ${i}`))),
      ),
    );
    for (const err of during) {
      expect(err.status).toBe(503);
      expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(20);
      expect(Number(err.headers?.get('retry-after'))).toBeLessThanOrEqual(30);
      expect(err.message).toMatch(/alpha: rate limited, cooling down for \d+ s, not tried/);
    }
    expect(chatRequests(a)).toHaveLength(1);
    expect(await cooldownSeconds(proxy, 'alpha')).toBeGreaterThan(20);
    expect(await cooldownSeconds(proxy, 'alpha')).toBeLessThanOrEqual(30);
    expect(
      await proxy.metric('llm_proxy_provider_cooldowns_total', {
        provider: 'alpha',
        source: 'local',
      }),
    ).toBe(1);
    await proxy.stop();
  });

  it('with retries on, the request that got the 429 retries once at its end while requests meanwhile cost nothing', async () => {
    const a = await fx.upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 3 });
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a)], {
        retries: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 3_000 },
      }),
    );

    const waiting = apiError(proxy.client.chat.completions.create(chatBody('waits it out')));
    await expect.poll(() => chatRequests(a).length, { timeout: 5_000, interval: 10 }).toBe(1);
    const meanwhile = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        apiError(proxy.client.chat.completions.create(chatBody(`meanwhile ${i}`))),
      ),
    );
    for (const err of meanwhile) expect(err.status).toBe(503);
    expect(chatRequests(a)).toHaveLength(1);

    expect((await waiting).status).toBe(503);
    // Its retry, sent when the cooldown ended; nothing else. Without cooldowns: 22 calls.
    expect(chatRequests(a)).toHaveLength(2);
    await proxy.stop();
  });

  it('answers 503 with the soonest Retry-After, sending nothing, while every provider cools down', async () => {
    const a = await fx.upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 30 });
    const b = await fx.upstream('b', { behaviour: 'rate_limit', retryAfterSeconds: 20 });
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })]),
    );

    const first = await apiError(proxy.client.chat.completions.create(chatBody('both limited')));
    expect(first.status).toBe(503);
    expect(first.headers?.get('retry-after')).toBe('20');

    const later = await apiError(proxy.client.chat.completions.create(chatBody('both cooling')));
    expect(later.status).toBe(503);
    expect(Number(later.headers?.get('retry-after'))).toBeGreaterThanOrEqual(10);
    expect(Number(later.headers?.get('retry-after'))).toBeLessThanOrEqual(20);
    expect(later.message).toMatch(/alpha: rate limited, cooling down for \d+ s, not tried/);
    expect(later.message).toMatch(/beta: rate limited, cooling down for \d+ s, not tried/);
    expect(chatRequests(a)).toHaveLength(1);
    expect(chatRequests(b)).toHaveLength(1);
    await proxy.stop();
  });

  it('tries the provider again once its cooldown has passed', async () => {
    const a = await fx.upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 2 });
    const proxy = await fx.proxy(proxyConfig([provider('alpha', a)]));

    expect((await apiError(proxy.client.chat.completions.create(chatBody('one')))).status).toBe(
      503,
    );
    expect((await apiError(proxy.client.chat.completions.create(chatBody('two')))).status).toBe(
      503,
    );
    expect(chatRequests(a)).toHaveLength(1);

    a.set({ behaviour: 'ok' });
    await sleep(2_100);
    expect(await cooldownSeconds(proxy, 'alpha')).toBe(0);
    expect(await answeredBy(proxy, 'after')).toBe('alpha');
    expect(chatRequests(a)).toHaveLength(2);
    await proxy.stop();
  });

  it('skips the provider cooling down while the next one serves', async () => {
    const a = await fx.upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 30 });
    const b = await fx.upstream('b');
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })]),
    );

    for (let i = 0; i < 20; i++) expect(await answeredBy(proxy, `req ${i}`)).toBe('beta');
    expect(chatRequests(a)).toHaveLength(1);
    expect(chatRequests(b)).toHaveLength(20);
    await proxy.stop();
  });

  it('skips a provider cooling down in parallel mode too', async () => {
    const a = await fx.upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 30 });
    const b = await fx.upstream('b', { latencyMs: 20 });
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })], {
        mode: 'parallel',
      }),
    );

    for (let i = 0; i < 10; i++) expect(await answeredBy(proxy, `req ${i}`)).toBe('beta');
    expect(chatRequests(a)).toHaveLength(1);
    await proxy.stop();
  });

  it('lets a request that waits out Retry-After retry once the cooldown ends', async () => {
    const a = await fx.upstream('a');
    a.failNext(1, 429, 1);
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a)], {
        retries: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 2_000 },
      }),
    );

    expect(await answeredBy(proxy, 'waits')).toBe('alpha');
    expect(chatRequests(a)).toHaveLength(2);
    await proxy.stop();
  });

  it('notes no cooldown for a 429 with Retry-After: 0: the next request is sent', async () => {
    const a = await fx.upstream('a');
    const proxy = await fx.proxy(proxyConfig([provider('alpha', a)]));
    a.failNext(1, 429, 0);

    expect((await apiError(proxy.client.chat.completions.create(chatBody('one')))).status).toBe(
      503,
    );
    expect(await answeredBy(proxy, 'two')).toBe('alpha');
    expect(chatRequests(a)).toHaveLength(2);
    await proxy.stop();
  });

  it('remembers nothing when routing.cooldown.maxMs is 0', async () => {
    const a = await fx.upstream('a', { behaviour: 'rate_limit', retryAfterSeconds: 2 });
    const proxy = await fx.proxy(proxyConfig([provider('alpha', a)], { cooldown: { maxMs: 0 } }));

    for (let i = 0; i < 3; i++) {
      expect((await apiError(proxy.client.chat.completions.create(chatBody(`r${i}`)))).status).toBe(
        503,
      );
    }
    expect(chatRequests(a)).toHaveLength(3);
    await proxy.stop();
  });
});
