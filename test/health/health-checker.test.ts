/**
 * The health checker through the real server: providers are probed (GET /v1/models) on an
 * interval; one whose probes fail turns unhealthy after `unhealthyAfter` probes and routing
 * skips it while another provider can serve, until `healthyAfter` good probes bring it back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningProxy } from '../support/proxy.js';
import {
  Fixtures,
  chatBody,
  chatRequests,
  provider,
  proxyConfig,
} from '../proxy/fallback-support.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const HEALTH = {
  enabled: true,
  intervalMs: 60,
  timeoutMs: 60,
  unhealthyAfter: 3,
  healthyAfter: 2,
  degradedLatencyMs: 2_000,
};

/**
 * For a provider that must stay healthy throughout: its probes get time to spare even on a
 * busy machine (a few slow probes in a row would otherwise mark it down).
 */
const PATIENT = { ...HEALTH, intervalMs: 200, timeoutMs: 200 };

const up = (proxy: RunningProxy, name: string): Promise<number> =>
  proxy.metric('llm_proxy_provider_up', { provider: name });

/**
 * Probing rounds started so far, from the probe tasks (one per enabled provider a round): a
 * probe that times out on a cold connection may never reach its upstream, yet it is a failed
 * probe all the same.
 */
const rounds = async (proxy: RunningProxy, providers: number): Promise<number> =>
  Math.floor(
    (await proxy.metric('llm_proxy_tasks_started_total', {
      owner: 'health_checker',
      task: 'probe',
    })) / providers,
  );

async function answeredBy(proxy: RunningProxy, model?: string): Promise<string | null> {
  const body = model === undefined ? chatBody() : { ...chatBody(), model };
  const { response } = await proxy.client.chat.completions.create(body).withResponse();
  return response.headers.get('x-llm-proxy-provider');
}

describe('health checker', () => {
  it('marks a provider unhealthy after unhealthyAfter failed probes, routes around it, and restores it after healthyAfter good ones', async () => {
    const a = await fx.upstream('a', { behaviour: 'fail' });
    const b = await fx.upstream('b');
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { priority: 1 }), provider('beta', b, { priority: 2 })], {
        healthCheck: PATIENT,
      }),
    );

    // Beta is polled too: on a starved machine its first, cold probes may time out, and a
    // beta that is briefly down as well would (rightly) put alpha back in play.
    await expect
      .poll(async () => [await up(proxy, 'alpha'), await up(proxy, 'beta')], {
        timeout: 10_000,
        interval: 10,
      })
      .toEqual([0, 1]);
    expect(await rounds(proxy, 2)).toBeGreaterThanOrEqual(PATIENT.unhealthyAfter);
    expect(
      await proxy.metric('llm_proxy_provider_health', { provider: 'alpha', state: 'unhealthy' }),
    ).toBe(1);

    // Unhealthy while beta can serve: alpha is not asked at all.
    expect(await answeredBy(proxy)).toBe('beta');
    expect(await answeredBy(proxy)).toBe('beta');
    expect(chatRequests(a)).toHaveLength(0);

    const seen = a.events.length;
    a.set({ behaviour: 'ok' });
    await expect.poll(() => up(proxy, 'alpha'), { timeout: 10_000, interval: 10 }).toBe(1);
    // The fake picks a request's answer when it arrives, so only probes that arrived after
    // the switch can have succeeded: recovery took at least healthyAfter of them.
    const goodProbes = a.events
      .slice(seen)
      .filter((e) => e.kind === 'request' && e.path === '/v1/models').length;
    expect(goodProbes).toBeGreaterThanOrEqual(PATIENT.healthyAfter);
    expect(await answeredBy(proxy)).toBe('alpha');
    await proxy.stop();
  });

  it('never probes a disabled provider', async () => {
    const a = await fx.upstream('a');
    const off = await fx.upstream('off');
    const proxy = await fx.proxy(
      proxyConfig(
        [provider('alpha', a), provider('off', off, { enabled: false, models: ['other-model'] })],
        { healthCheck: HEALTH },
      ),
    );

    // Several rounds have run once the enabled provider has seen several probes.
    await a.waitFor((e) => e.kind === 'complete' && e.path === '/v1/models' && e.id >= 4);

    expect(off.requests).toBe(0);
    await proxy.stop();
  });

  it('still tries a model whose only providers are unhealthy', async () => {
    // Probes time out (60 ms) against a 300 ms upstream; chat requests may take 5 s.
    const a = await fx.upstream('a', { latencyMs: 300 });
    const proxy = await fx.proxy(
      proxyConfig([provider('alpha', a, { models: ['solo-model'] })], { healthCheck: HEALTH }),
    );

    await expect.poll(() => up(proxy, 'alpha'), { timeout: 5_000, interval: 10 }).toBe(0);

    expect(await answeredBy(proxy, 'solo-model')).toBe('alpha');
    expect(chatRequests(a)).toHaveLength(1);
    await proxy.stop();
  });
});
