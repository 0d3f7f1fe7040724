/**
 * Misconfiguration is loud: a provider whose baseUrl lacks its API root (/v1) or whose key
 * is wrong gets a warn line at start-up naming the likely cause with the upstream's own
 * words (never the key); every change of a provider's health state is logged once, the first
 * verdict out of `unknown` included; and a client's 502 carries what the upstream said.
 * Against the fake upstream, which answers an unknown path 404 and a wrong key 401 in
 * OpenAI's error shape.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningProxy } from '../support/proxy.js';
import { Fixtures, chatBody, provider, proxyConfig } from '../proxy/fallback-support.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/** Probes get time to spare even on a busy machine: a timed-out probe would say nothing. */
const HEALTH = {
  enabled: true,
  intervalMs: 300,
  timeoutMs: 300,
  unhealthyAfter: 2,
  healthyAfter: 2,
  degradedLatencyMs: 2_000,
};

type LogLine = Record<string, unknown>;

/** The log lines about `provider`'s health, in order: refusals and state changes. */
const healthLines = (proxy: RunningProxy, name: string): LogLine[] =>
  proxy.logs.filter(
    (l) =>
      l.provider === name &&
      typeof l.msg === 'string' &&
      (l.msg.startsWith('provider health changed') || l.msg.includes('refused its health probe')),
  );

const WARN = 'warn';
const INFO = 'info';

/** Waits until `provider` has been declared unhealthy (its warn line logged). */
async function untilUnhealthy(proxy: RunningProxy, name: string): Promise<void> {
  await expect
    .poll(() => healthLines(proxy, name).some((l) => l.to === 'unhealthy'), {
      timeout: 10_000,
      interval: 20,
    })
    .toBe(true);
}

/** A chat request's status and error message, straight over HTTP. */
async function chat(proxy: RunningProxy): Promise<{ status: number; message: string }> {
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chatBody()),
  });
  const body = (await res.json()) as { error: { message: string } };
  return { status: res.status, message: body.error.message };
}

describe('a baseUrl without its API root (upstream 404)', () => {
  it('warns at start-up naming the cause, warns once when it turns unhealthy, and the 502 quotes the upstream', async () => {
    const up = await fx.upstream('up');
    const proxy = await fx.proxy(
      proxyConfig([provider('primary', up, { baseUrl: up.url })], { healthCheck: HEALTH }),
    );
    await untilUnhealthy(proxy, 'primary');
    // A few more rounds: still unhealthy, nothing more to say.
    const probes = up.events.filter((e) => e.kind === 'request').length;
    await up.waitFor((e) => e.kind === 'request' && e.id >= probes + 3);

    const lines = healthLines(proxy, 'primary');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [
        WARN,
        'provider primary refused its health probe with HTTP 404: Unknown request URL: GET /models; ' +
          'likely cause: baseUrl is probably missing its API root, e.g. /v1',
      ],
      [
        WARN,
        'provider health changed: primary unknown -> unhealthy: HTTP 404: Unknown request URL: GET /models',
      ],
    ]);
    expect(lines[0]).toMatchObject({
      status: 404,
      likelyCause: 'baseUrl is probably missing its API root, e.g. /v1',
    });
    expect(lines[1]).toMatchObject({ from: 'unknown', to: 'unhealthy' });

    const answer = await chat(proxy);
    expect(answer.status).toBe(502);
    expect(answer.message).toMatch(
      /^1 provider failed: primary: HTTP 404: Unknown request URL: POST \/chat\/completions \(\d+ ms\)$/,
    );
    await proxy.stop();
  });
});

describe('a wrong provider key (upstream 401)', () => {
  it('warns at start-up that the key was rejected, quoting the upstream but never the key', async () => {
    const wrongKey = 'sk-wrong-0123456789abcdef';
    const up = await fx.upstream('up', { apiKey: 'sk-right-0123456789abcdef' });
    const proxy = await fx.proxy(
      proxyConfig([provider('primary', up, { apiKey: wrongKey })], { healthCheck: HEALTH }),
    );
    await untilUnhealthy(proxy, 'primary');

    const [refused, changed] = healthLines(proxy, 'primary');
    expect(refused).toMatchObject({
      level: WARN,
      status: 401,
      reason: 'HTTP 401: Incorrect API key provided.',
      likelyCause: 'the provider rejected the key: check apiKey',
    });
    expect(refused!.msg).toContain('check apiKey');
    expect(changed).toMatchObject({
      level: WARN,
      from: 'unknown',
      to: 'unhealthy',
      reason: 'HTTP 401: Incorrect API key provided.',
      likelyCause: 'the provider rejected the key: check apiKey',
    });
    expect(await proxy.metric('llm_proxy_provider_up', { provider: 'primary' })).toBe(0);

    const answer = await chat(proxy);
    expect(answer).toEqual({
      status: 502,
      message: expect.stringMatching(
        /^1 provider failed: primary: HTTP 401: Incorrect API key provided\. \(\d+ ms\)$/,
      ) as string,
    });
    // The key went upstream on every request, and nowhere else.
    expect(up.lastRequest()?.headers.authorization).toBe(`Bearer ${wrongKey}`);
    expect(JSON.stringify(proxy.logs)).not.toContain('0123456789abcdef');
    await proxy.stop();
  });
});

describe('health state changes', () => {
  it('logs each change once: the first verdict out of unknown at info, down at warn, back up at info', async () => {
    const up = await fx.upstream('up');
    const proxy = await fx.proxy(proxyConfig([provider('primary', up)], { healthCheck: HEALTH }));
    const changes = (): LogLine[] =>
      healthLines(proxy, 'primary').filter((l) => l.to !== undefined);
    await expect.poll(() => changes().length, { timeout: 10_000, interval: 20 }).toBe(1);

    up.set({ behaviour: 'fail' });
    await untilUnhealthy(proxy, 'primary');
    up.set({ behaviour: 'ok' });
    await expect.poll(() => changes().length, { timeout: 10_000, interval: 20 }).toBe(3);
    // Settled: more rounds, no more lines.
    const probes = up.events.filter((e) => e.kind === 'request').length;
    await up.waitFor((e) => e.kind === 'request' && e.id >= probes + 3);
    await proxy.stop();

    expect(changes().map((l) => [l.level, l.from, l.to])).toEqual([
      [INFO, 'unknown', 'healthy'],
      [WARN, 'healthy', 'unhealthy'],
      [INFO, 'unhealthy', 'healthy'],
    ]);
    const [first, down, back] = changes().map((l) => String(l.reason));
    expect(first).toMatch(/^probe answered in \d+ ms$/);
    // The status, then what the upstream's JSON error said (a 5xx's own words are kept too).
    expect(down).toMatch(/^HTTP 500: The fake upstream answered/);
    expect(back).toMatch(/^probe answered in \d+ ms$/);
    // A 500 says nothing about the configuration: no refusal line, no likely cause.
    expect(healthLines(proxy, 'primary').some((l) => 'likelyCause' in l)).toBe(false);
  });
});
