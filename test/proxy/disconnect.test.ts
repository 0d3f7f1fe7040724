/**
 * A client that goes away: whatever point the request has reached, its `http/request` task
 * is cancelled with `client_gone`, which closes every upstream socket working for it at
 * once (measured from the client's abort to the fake upstream's 'disconnect' event), and
 * nothing is left running.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeEvent, FakeUpstream } from '../../src/fake-upstream/index.js';
import type { RunningProxy } from '../support/proxy.js';
import {
  CHAT_PATH,
  Fixtures,
  attempts,
  cancellations,
  chatBody,
  chatDisconnect,
  provider,
  proxyConfig,
  upstreamRequests,
} from './fallback-support.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

/**
 * Measured 5-31 ms on an idle machine; the bound leaves room for a busy two-core CI run
 * (one run under load took 278 ms). Without the cancellation the upstream would hold the
 * socket for the whole answer (seconds in these tests).
 */
const DISCONNECT_WITHIN_MS = 750;

interface Call {
  abort(): number;
  response: Promise<Response>;
}

/** Starts a chat request with raw fetch, so the test decides when the client leaves. */
function call(proxy: RunningProxy, stream: boolean): Call {
  const controller = new AbortController();
  const response = fetch(`${proxy.url}${CHAT_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...chatBody('leave early'), stream }),
    signal: controller.signal,
  });
  // The abort rejects the pending fetch (or the body read); the test has moved on by then.
  response.catch(() => undefined);
  return {
    response,
    abort: () => {
      const at = Date.now();
      controller.abort();
      return at;
    },
  };
}

/** Reads SSE from a response until `n` content deltas have arrived. */
async function readContentChunks(res: Response, n: number): Promise<void> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended after ${text}`);
    text += decoder.decode(value, { stream: true });
    if ((text.match(/"content":"[^"]+"/g) ?? []).length >= n) return;
  }
}

/** The request has reached the upstream (so the proxy is waiting on it). */
const arrived = (upstream: FakeUpstream): Promise<FakeEvent> =>
  upstream.waitFor((e) => e.kind === 'request' && e.path === CHAT_PATH);

async function expectCancelledByClient(proxy: RunningProxy, name: string): Promise<void> {
  await expect.poll(() => cancellations(proxy, 'http', 'client_gone')).toBe(1);
  await expect.poll(() => upstreamRequests(proxy, name, 'cancelled')).toBe(1);
  expect(await upstreamRequests(proxy, name, 'ok')).toBe(0);
}

describe('client disconnects', () => {
  it('closes the upstream promptly when the client leaves before the upstream answered (stream)', async () => {
    const a = await fx.upstream('a', { latencyMs: 10_000 });
    const proxy = await fx.proxy(proxyConfig([provider('alpha', a, { timeoutMs: 20_000 })]));

    const c = call(proxy, true);
    await arrived(a);
    const abortedAt = c.abort();
    const gone = await chatDisconnect(a);

    expect(gone.at - abortedAt).toBeLessThan(DISCONNECT_WITHIN_MS);
    expect(gone.chunksSent).toBe(0);
    await expectCancelledByClient(proxy, 'alpha');
    await proxy.stop();
  });

  it('closes the upstream promptly when the client of a non-streamed request leaves', async () => {
    const a = await fx.upstream('a', { latencyMs: 10_000 });
    const proxy = await fx.proxy(proxyConfig([provider('alpha', a, { timeoutMs: 20_000 })]));

    const c = call(proxy, false);
    await arrived(a);
    const abortedAt = c.abort();
    const gone = await chatDisconnect(a);

    expect(gone.at - abortedAt).toBeLessThan(DISCONNECT_WITHIN_MS);
    expect(gone.stream).toBe(false);
    await expectCancelledByClient(proxy, 'alpha');
    await proxy.stop();
  });

  it('closes the upstream promptly when the client leaves right after the first chunk', async () => {
    const a = await fx.upstream('a', { streamChunks: 5, chunkDelayMs: 2_000 });
    const proxy = await fx.proxy(proxyConfig([provider('alpha', a)]));

    const c = call(proxy, true);
    await readContentChunks(await c.response, 1);
    const abortedAt = c.abort();
    const gone = await chatDisconnect(a);

    expect(gone.at - abortedAt).toBeLessThan(DISCONNECT_WITHIN_MS);
    expect(gone.chunksSent).toBe(1);
    await expectCancelledByClient(proxy, 'alpha');
    // It won the race, and being cancelled by the client afterwards does not make it a loser.
    expect(await attempts(proxy, 'alpha')).toEqual({ won: 1, lost: 0, failed: 0 });
    await proxy.stop();
  });

  it('closes the upstream promptly when the client leaves in the middle of a slow stream', async () => {
    const a = await fx.upstream('a', {
      behaviour: 'slow_stream',
      streamChunks: 10,
      chunkDelayMs: 60,
    });
    const proxy = await fx.proxy(proxyConfig([provider('alpha', a)]));

    const c = call(proxy, true);
    await readContentChunks(await c.response, 3);
    const abortedAt = c.abort();
    const gone = await chatDisconnect(a);

    expect(gone.at - abortedAt).toBeLessThan(DISCONNECT_WITHIN_MS);
    expect(gone.chunksSent).toBeGreaterThanOrEqual(3);
    expect(gone.chunksSent).toBeLessThan(10);
    await expectCancelledByClient(proxy, 'alpha');
    expect(await attempts(proxy, 'alpha')).toEqual({ won: 1, lost: 0, failed: 0 });
    await proxy.stop();
  });

  it('closes every racing upstream when the client leaves a parallel race', async () => {
    const a = await fx.upstream('a', { latencyMs: 10_000 });
    const b = await fx.upstream('b', { latencyMs: 10_000 });
    const proxy = await fx.proxy(
      proxyConfig(
        [
          provider('alpha', a, { priority: 1, timeoutMs: 20_000 }),
          provider('beta', b, { priority: 2, timeoutMs: 20_000 }),
        ],
        { mode: 'parallel', maxParallel: 2 },
      ),
    );

    const c = call(proxy, true);
    await Promise.all([arrived(a), arrived(b)]);
    const abortedAt = c.abort();
    const [goneA, goneB] = await Promise.all([chatDisconnect(a), chatDisconnect(b)]);

    expect(goneA.at - abortedAt).toBeLessThan(DISCONNECT_WITHIN_MS);
    expect(goneB.at - abortedAt).toBeLessThan(DISCONNECT_WITHIN_MS);
    await expect.poll(() => cancellations(proxy, 'http', 'client_gone')).toBe(1);
    expect(await cancellations(proxy, 'fallback_engine', 'lost_race')).toBe(0);
    await proxy.stop();
  });
});
