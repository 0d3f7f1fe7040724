/**
 * Hedged routing through the real server: the primary starts alone; only if it has not
 * answered after hedgeDelayMs does the next provider start, and the first answer wins.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Fixtures,
  attempts,
  cancellations,
  chatBody,
  chatDisconnect,
  chatRequests,
  provider,
  proxyConfig,
} from './fallback-support.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const HEDGE_DELAY_MS = 150;
const HEDGED = { mode: 'hedged', maxParallel: 2, hedgeDelayMs: HEDGE_DELAY_MS };

describe('hedged fallback', () => {
  it('starts the hedge after hedgeDelayMs when the primary is slow; the hedge wins, the primary is cancelled', async () => {
    const primary = await fx.upstream('primary', { latencyMs: 5_000 });
    const hedge = await fx.upstream('hedge');
    const proxy = await fx.proxy(
      proxyConfig(
        [provider('primary', primary, { priority: 1 }), provider('hedge', hedge, { priority: 2 })],
        HEDGED,
      ),
    );

    const sentAt = Date.now();
    const { response } = await proxy.client.chat.completions
      .create(chatBody('hedge me'))
      .withResponse();

    expect(response.headers.get('x-llm-proxy-provider')).toBe('hedge');
    expect(chatRequests(primary)).toHaveLength(1);
    const [hedged] = chatRequests(hedge);
    // The hedge's clock starts when the proxy took the request, after `sentAt`: it can
    // only arrive later than hedgeDelayMs after it (1 ms slack for Date.now() rounding).
    const delay = hedged!.at - sentAt;
    expect(delay).toBeGreaterThanOrEqual(HEDGE_DELAY_MS - 1);
    expect(delay).toBeLessThan(HEDGE_DELAY_MS + 1_000);
    await chatDisconnect(primary);
    await expect.poll(() => attempts(proxy, 'primary')).toEqual({ won: 0, lost: 1, failed: 0 });
    expect(await attempts(proxy, 'hedge')).toEqual({ won: 1, lost: 0, failed: 0 });
    expect(await cancellations(proxy, 'fallback_engine', 'lost_race')).toBe(1);
    await proxy.stop();
  });

  it('sends no hedge request at all when the primary answers within hedgeDelayMs', async () => {
    const primary = await fx.upstream('primary');
    const hedge = await fx.upstream('hedge');
    const proxy = await fx.proxy(
      proxyConfig(
        [provider('primary', primary, { priority: 1 }), provider('hedge', hedge, { priority: 2 })],
        HEDGED,
      ),
    );

    const { response } = await proxy.client.chat.completions
      .create(chatBody('no hedge'))
      .withResponse();
    expect(response.headers.get('x-llm-proxy-provider')).toBe('primary');
    // A negative can only be seen by waiting: past the moment the hedge would have started.
    await new Promise((r) => setTimeout(r, HEDGE_DELAY_MS * 2));

    expect(hedge.requests).toBe(0);
    expect(await attempts(proxy, 'hedge')).toEqual({ won: 0, lost: 0, failed: 0 });
    expect(await cancellations(proxy, 'fallback_engine', 'lost_race')).toBe(0);
    await proxy.stop();
  });

  it('starts the hedge at once, ahead of hedgeDelayMs, when the primary fails', async () => {
    const primary = await fx.upstream('primary', { behaviour: 'fail' });
    const hedge = await fx.upstream('hedge');
    const proxy = await fx.proxy(
      proxyConfig(
        [provider('primary', primary, { priority: 1 }), provider('hedge', hedge, { priority: 2 })],
        { ...HEDGED, hedgeDelayMs: 10_000 },
      ),
    );

    const started = performance.now();
    const { response } = await proxy.client.chat.completions
      .create(chatBody('primary fails'))
      .withResponse();

    expect(response.headers.get('x-llm-proxy-provider')).toBe('hedge');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await attempts(proxy, 'primary')).toEqual({ won: 0, lost: 0, failed: 1 });
    await proxy.stop();
  });
});
