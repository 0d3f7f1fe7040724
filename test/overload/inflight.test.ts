import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { parseExposition, select } from '../../src/telemetry/exposition.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const KEY = 'overload-key';
const SLOW_MS = 800;

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'slow', latencyMs: SLOW_MS });
});
afterAll(async () => {
  await upstream.close();
});

async function chat(
  proxy: RunningProxy,
): Promise<{ status: number; ms: number; headers: Headers; body: unknown }> {
  const started = performance.now();
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'slow one' }],
    }),
  });
  const body: unknown = await res.json();
  return { status: res.status, ms: performance.now() - started, headers: res.headers, body };
}

describe('overload: server.maxInFlight', () => {
  it('sheds requests past the limit at once with 503 + Retry-After instead of queueing them', async () => {
    const proxy = await startProxy({
      auth: { apiKeys: [KEY] },
      server: { maxInFlight: 4 },
      providers: [
        { name: 'slow', type: 'openai', baseUrl: `${upstream.url}/v1`, models: ['gpt-4o-mini'] },
      ],
      routing: { healthCheck: { enabled: false } },
      cache: { enabled: false },
    });
    try {
      const busy = Array.from({ length: 4 }, () => chat(proxy));
      // A request takes its slot once its body is in (before, it is receiving).
      await vi.waitFor(
        async () => expect(await proxy.metric('llm_proxy_inflight_requests')).toBe(4),
        { timeout: 2_000, interval: 10 },
      );

      const shed = await chat(proxy);
      expect(shed.status).toBe(503);
      expect(shed.ms).toBeLessThan(SLOW_MS / 4); // answered at once, not after a slot freed
      expect(shed.headers.get('retry-after')).toBe('1');
      expect(shed.body).toEqual({
        error: {
          message: expect.stringContaining('limit of in-flight requests') as unknown,
          type: 'overloaded_error',
          param: null,
          code: 'overloaded',
        },
      });
      // More at once: all shed fast, none reaches the upstream.
      const burst = await Promise.all(Array.from({ length: 10 }, () => chat(proxy)));
      expect(burst.map((r) => r.status)).toEqual(Array<number>(10).fill(503));
      expect(Math.max(...burst.map((r) => r.ms))).toBeLessThan(SLOW_MS / 2);
      expect(upstream.requests).toBe(4);

      expect(await proxy.metric('llm_proxy_requests_shed_total', { reason: 'overload' })).toBe(11);
      // Shed before a task was started for them: the task limit (a backstop) is never hit.
      expect(
        await proxy.metric('llm_proxy_tasks_rejected_total', {
          owner: 'http',
          task: 'request',
          reason: 'limit',
        }),
      ).toBe(0);
      expect(
        await proxy.metric('llm_proxy_tasks_started_total', { owner: 'http', task: 'request' }),
      ).toBe(4);

      const done = await Promise.all(busy);
      expect(done.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      const after = await chat(proxy);
      expect(after.status).toBe(200);
      expect(await proxy.metric('llm_proxy_requests_shed_total', { reason: 'overload' })).toBe(11);
      expect(
        await proxy.metric('llm_proxy_http_requests_total', {
          route: '/v1/chat/completions',
          status: '503',
        }),
      ).toBe(11);

      // Event-loop lag is exported with the scrape (a number of seconds, small here).
      const scrape = await (await fetch(`${proxy.url}/metrics`)).text();
      const lag = select(parseExposition(scrape), 'llm_proxy_event_loop_lag_seconds');
      expect(lag).toHaveLength(1);
      expect(lag[0]!.value).toBeGreaterThanOrEqual(0);
      expect(lag[0]!.value).toBeLessThan(1);
      expect(scrape).toContain('# TYPE llm_proxy_event_loop_lag_seconds gauge');
    } finally {
      await proxy.stop();
    }
  });
});
