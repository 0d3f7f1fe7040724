/**
 * POST /admin/drain on a live proxy: readiness drops at once, new proxy traffic is shed with
 * 503 + Retry-After, what is in flight finishes in full, and the answer is a summary of a
 * clean drain. /metrics keeps serving throughout.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { parseExposition, select, sum } from '../../src/telemetry/exposition.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const ADMIN = 'admin-secret';
const KEY = 'proxy-key';

let upstream: FakeUpstream;
let proxy: RunningProxy | undefined;

beforeAll(async () => {
  // 8 chunks 100 ms apart: a stream that is certainly still running when the drain starts.
  upstream = await startFakeUpstream({ name: 'slow', chunkDelayMs: 100, streamChunks: 8 });
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

const config = () => ({
  auth: { apiKeys: [KEY], adminToken: ADMIN },
  providers: [
    { name: 'fake', type: 'openai', baseUrl: `${upstream.url}/v1`, models: ['gpt-4o-mini'] },
  ],
  routing: { healthCheck: { enabled: false } },
  server: { shutdownDeadlineMs: 5_000 },
});

const chat = (url: string, content: string, stream: boolean) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content }] }),
  });

/** The content deltas of an SSE answer, joined. */
function streamedText(sse: string): string {
  let text = '';
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const chunk = JSON.parse(line.slice(6)) as { choices: { delta?: { content?: string } }[] };
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  return text;
}

describe('POST /admin/drain with a stream in flight', () => {
  it('sheds new traffic, finishes the stream in full, and answers a clean summary', async () => {
    proxy = await startProxy(config());
    const { url } = proxy;
    const res = await chat(url, 'keep streaming while we drain', true);
    expect(res.status).toBe(200);
    // Headers are out, so the request is in flight; read the body concurrently.
    let streamDone = false;
    const body = res.text().finally(() => (streamDone = true));

    let drainAnswered = false;
    const drained = fetch(`${url}/admin/drain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    }).finally(() => (drainAnswered = true));
    const startedAt = Date.now();
    let ready = await fetch(`${url}/readyz`);
    while (ready.status === 200 && Date.now() - startedAt < 1_000) {
      ready = await fetch(`${url}/readyz`);
    }
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    // Not ready at once: while the stream is still running and the drain has not answered.
    expect({ streamDone, drainAnswered }).toEqual({ streamDone: false, drainAnswered: false });
    expect(upstream.events.some((e) => e.kind === 'disconnect')).toBe(false);

    const shed = await chat(url, 'too late', false);
    expect(shed.status).toBe(503);
    expect(Number(shed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const refusal = (await shed.json()) as { error: Record<string, unknown> };
    expect(Object.keys(refusal)).toEqual(['error']);
    expect(refusal.error).toMatchObject({
      type: 'overloaded_error',
      param: null,
      code: 'draining',
    });
    expect(refusal.error.message).toMatch(/draining/);
    // Liveness is unaffected: the process is alive, only not ready.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const sse = await body;
    expect(streamedText(sse)).toBe('echo: keep streaming while we drain');
    expect(sse.trimEnd().endsWith('data: [DONE]')).toBe(true);

    const answer = await drained;
    expect(answer.status).toBe(200);
    const summary = (await answer.json()) as Record<string, unknown>;
    expect(summary).toMatchObject({
      state: 'stopped',
      requestsFinished: true,
      activeTasks: 0,
      leakedTotal: 0,
      unsettledTasks: 0,
    });
    expect(summary.inFlightAtStart).toBeGreaterThanOrEqual(1);
    expect(summary.durationMs).toBeGreaterThan(0);

    const scrape = await fetch(`${url}/metrics`);
    expect(scrape.status).toBe(200);
    const samples = parseExposition(await scrape.text());
    expect(sum(samples, 'llm_proxy_shutdown_duration_seconds')).toBeGreaterThan(0);
    const active = select(samples, 'llm_proxy_tasks_active');
    expect(active.length).toBeGreaterThanOrEqual(10);
    expect(active.filter((s) => s.value !== 0)).toEqual([]);
    expect(sum(samples, 'llm_proxy_tasks_leaked_total')).toBe(0);
    expect(
      sum(samples, 'llm_proxy_http_requests_total', {
        route: '/v1/chat/completions',
        status: '503',
      }),
    ).toBe(1);
    expect(
      sum(samples, 'llm_proxy_http_requests_total', {
        route: '/v1/chat/completions',
        status: '200',
      }),
    ).toBe(1);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
  });

  it('answers a second drain with the same summary instead of draining again', async () => {
    proxy = await startProxy(config());
    const drain = async () =>
      (await fetch(`${proxy!.url}/admin/drain`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}` },
      }).then((r) => r.json())) as Record<string, unknown>;
    const first = await drain();
    expect(first).toMatchObject({ state: 'stopped', requestsFinished: true, inFlightAtStart: 0 });
    expect(await drain()).toEqual(first);
    expect((await chat(proxy.url, 'after', false)).status).toBe(503);
  });
});
