/**
 * Parallel routing (maxParallel 2) through the real server: the first provider with an
 * answer (a JSON body, or a stream's first chunk) wins; every other branch is cancelled
 * with `lost_race`, which closes its upstream socket at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Fixtures,
  apiError,
  attempts,
  cancellations,
  chatBody,
  chatDisconnect,
  chatRequests,
  provider,
  proxyConfig,
  upstreamRequests,
} from './fallback-support.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const PARALLEL = { mode: 'parallel', maxParallel: 2 };

describe('parallel fallback', () => {
  it('lets the fast provider win a JSON race and closes the slow one, counted as lost', async () => {
    // The slow one has the better priority, so winning is down to speed, not order.
    const slow = await fx.upstream('slow', { latencyMs: 5_000 });
    const fast = await fx.upstream('fast', { latencyMs: 20 });
    const proxy = await fx.proxy(
      proxyConfig(
        [provider('slow', slow, { priority: 1 }), provider('fast', fast, { priority: 2 })],
        PARALLEL,
      ),
    );

    const { data, response } = await proxy.client.chat.completions
      .create(chatBody('race me'))
      .withResponse();

    expect(response.headers.get('x-llm-proxy-provider')).toBe('fast');
    expect(data.choices[0]!.message.content).toBe('echo: race me');
    expect(chatRequests(slow)).toHaveLength(1);
    expect((await chatDisconnect(slow)).chunksSent).toBe(0);
    await expect.poll(() => attempts(proxy, 'slow')).toEqual({ won: 0, lost: 1, failed: 0 });
    expect(await attempts(proxy, 'fast')).toEqual({ won: 1, lost: 0, failed: 0 });
    expect(await cancellations(proxy, 'fallback_engine', 'lost_race')).toBe(1);
    expect(await upstreamRequests(proxy, 'slow', 'cancelled')).toBe(1);
    await expect.poll(() => upstreamRequests(proxy, 'fast', 'ok')).toBe(1);
    await proxy.stop();
  });

  it('gives a stream race to the first provider to yield a chunk, not the first to send headers', async () => {
    // An SSE upstream sends its headers at once; latency delays only its first event.
    const slow = await fx.upstream('slow', { latencyMs: 5_000 });
    const fast = await fx.upstream('fast', { latencyMs: 30, streamChunks: 4 });
    const proxy = await fx.proxy(
      proxyConfig(
        [provider('slow', slow, { priority: 1 }), provider('fast', fast, { priority: 2 })],
        PARALLEL,
      ),
    );

    const { data: stream, response } = await proxy.client.chat.completions
      .create({ ...chatBody('stream race'), stream: true })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';

    expect(response.headers.get('x-llm-proxy-provider')).toBe('fast');
    expect(text).toBe('echo: stream race');
    const gone = await chatDisconnect(slow);
    expect(gone.stream).toBe(true);
    expect(gone.chunksSent).toBe(0);
    await expect.poll(() => attempts(proxy, 'slow')).toEqual({ won: 0, lost: 1, failed: 0 });
    expect(await attempts(proxy, 'fast')).toEqual({ won: 1, lost: 0, failed: 0 });
    expect(await cancellations(proxy, 'fallback_engine', 'lost_race')).toBe(1);
    await expect.poll(() => upstreamRequests(proxy, 'fast', 'ok')).toBe(1);
    await proxy.stop();
  });

  it('answers from the other provider when one fails fast, with nothing cancelled', async () => {
    const failing = await fx.upstream('failing', { behaviour: 'fail' });
    const ok = await fx.upstream('ok', { latencyMs: 100 });
    const proxy = await fx.proxy(
      proxyConfig(
        [provider('failing', failing, { priority: 1 }), provider('ok', ok, { priority: 2 })],
        PARALLEL,
      ),
    );

    const { response } = await proxy.client.chat.completions
      .create(chatBody('one fails'))
      .withResponse();

    expect(response.headers.get('x-llm-proxy-provider')).toBe('ok');
    expect(await attempts(proxy, 'failing')).toEqual({ won: 0, lost: 0, failed: 1 });
    expect(await attempts(proxy, 'ok')).toEqual({ won: 1, lost: 0, failed: 0 });
    expect(await upstreamRequests(proxy, 'failing', 'server_error')).toBe(1);
    expect(await cancellations(proxy, 'fallback_engine', 'lost_race')).toBe(0);
    await proxy.stop();
  });

  it('cancels a hanging loser promptly once the other provider has answered', async () => {
    const hanging = await fx.upstream('hanging', { behaviour: 'hang' });
    const ok = await fx.upstream('ok');
    const proxy = await fx.proxy(
      proxyConfig(
        [
          provider('hanging', hanging, { priority: 1, timeoutMs: 20_000 }),
          provider('ok', ok, { priority: 2 }),
        ],
        PARALLEL,
      ),
    );

    const { response } = await proxy.client.chat.completions
      .create(chatBody('one hangs'))
      .withResponse();
    const answeredAt = Date.now();

    expect(response.headers.get('x-llm-proxy-provider')).toBe('ok');
    const gone = await chatDisconnect(hanging);
    // Closed as soon as the race was decided, not when the 20 s timeout would have fired.
    expect(gone.at - answeredAt).toBeLessThan(500);
    await expect.poll(() => attempts(proxy, 'hanging')).toEqual({ won: 0, lost: 1, failed: 0 });
    await proxy.stop();
  });

  it('starts a third provider only when one of the two running has failed', async () => {
    const failing = await fx.upstream('failing', { behaviour: 'fail', latencyMs: 50 });
    const slow = await fx.upstream('slow', { latencyMs: 5_000 });
    const third = await fx.upstream('third');
    const proxy = await fx.proxy(
      proxyConfig(
        [
          provider('failing', failing, { priority: 1 }),
          provider('slow', slow, { priority: 2 }),
          provider('third', third, { priority: 3 }),
        ],
        PARALLEL,
      ),
    );

    const { response } = await proxy.client.chat.completions
      .create(chatBody('three way'))
      .withResponse();

    expect(response.headers.get('x-llm-proxy-provider')).toBe('third');
    const [failed] = chatRequests(failing);
    const [started] = chatRequests(third);
    expect(started!.at).toBeGreaterThanOrEqual(failed!.at + 50 - 5);
    await chatDisconnect(slow);
    await expect.poll(() => attempts(proxy, 'slow')).toEqual({ won: 0, lost: 1, failed: 0 });
    expect(await attempts(proxy, 'failing')).toEqual({ won: 0, lost: 0, failed: 1 });
    await proxy.stop();
  });

  it('answers 502 as soon as both racers have failed', async () => {
    const a = await fx.upstream('a', { behaviour: 'fail' });
    const b = await fx.upstream('b', { behaviour: 'fail', latencyMs: 50 });
    const proxy = await fx.proxy(
      proxyConfig(
        [
          provider('alpha', a, { priority: 1, timeoutMs: 20_000 }),
          provider('beta', b, { priority: 2, timeoutMs: 20_000 }),
        ],
        PARALLEL,
      ),
    );

    const started = performance.now();
    const err = await apiError(proxy.client.chat.completions.create(chatBody('both fail')));

    expect(err.status).toBe(502);
    expect(err.message).toMatch(/alpha: HTTP 500.*beta: HTTP 500/);
    expect(performance.now() - started).toBeLessThan(2_000);
    await proxy.stop();
  });
});
