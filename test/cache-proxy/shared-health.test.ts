/**
 * Shared health across replicas, end to end: two proxies configured with the same Redis and
 * the same upstream probe it once per interval between them, agree on its health, and hand
 * the probing over when the replica doing it goes away.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { eventually, shutDown, stopReplicas } from './replicas.js';

const INTERVAL_MS = 200;
/** The default lock expiry: three intervals. */
const LOCK_TTL_MS = 3 * INTERVAL_MS;
let upstream: FakeUpstream;
let server: RedisServer;
let running: RunningProxy[] = [];
let prefixes = 0;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'up' });
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
  await upstream.close();
});
afterEach(async () => {
  upstream.set({ behaviour: 'ok' });
  const replicas = running;
  running = [];
  await stopReplicas(replicas);
});

async function replicas(n: number): Promise<RunningProxy[]> {
  const keyPrefix = `health${++prefixes}`;
  for (let i = 0; i < n; i++) {
    running.push(
      await startProxy({
        providers: [
          {
            name: 'primary',
            type: 'openai',
            baseUrl: `${upstream.url}/v1`,
            models: ['gpt-4o-mini'],
          },
        ],
        routing: {
          healthCheck: {
            intervalMs: INTERVAL_MS,
            timeoutMs: 150,
            unhealthyAfter: 2,
            healthyAfter: 1,
          },
        },
        cache: { redis: { url: server.url, keyPrefix } },
      }),
    );
  }
  return running;
}

const probesSent = (): number =>
  upstream.events.filter(
    (e) => e.kind === 'request' && e.method === 'GET' && e.path === '/v1/models',
  ).length;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metricOf(
  ps: RunningProxy[],
  name: string,
  labels: Record<string, string>,
): Promise<number[]> {
  return Promise.all(ps.map((p) => p.metric(name, labels)));
}

/** The replica holding the provider's lock, once exactly one does. */
async function holderOf(ps: RunningProxy[]): Promise<RunningProxy> {
  let holder: RunningProxy | undefined;
  await eventually(async () => {
    const held = await metricOf(ps, 'llm_proxy_health_lock_held', { provider: 'primary' });
    expect(held.sort()).toEqual([...ps.slice(1).map(() => 0), 1]);
    holder =
      ps[(await metricOf(ps, 'llm_proxy_health_lock_held', { provider: 'primary' })).indexOf(1)];
  });
  return holder!;
}

describe('shared health across replicas', () => {
  it('probes each provider about once per interval in total, not once per replica', async () => {
    const ps = await replicas(2);
    await holderOf(ps);
    /** Probes the replicas say they sent: as lock holder, or locally as a fallback. */
    const counted = async (): Promise<number> => {
      const [probed, local] = await Promise.all(
        ['probed', 'local'].map(async (result) =>
          (await metricOf(ps, 'llm_proxy_health_shared_rounds_total', { result })).reduce(
            (a, b) => a + b,
          ),
        ),
      );
      return probed! + local!;
    };
    const before = { seen: probesSent(), counted: await counted() };
    const reads = await metricOf(ps, 'llm_proxy_health_shared_rounds_total', { result: 'read' });
    const windowMs = 10 * INTERVAL_MS;
    await sleep(windowMs);
    const probes = probesSent() - before.seen;
    // Jitter and probe time stretch the period a little; two replicas probing would be ~20.
    expect(probes).toBeGreaterThanOrEqual(4);
    expect(probes).toBeLessThanOrEqual(13);
    expect(Math.abs((await counted()) - before.counted - probes)).toBeLessThanOrEqual(1);
    // The replica not probing used the published results instead.
    const readsAfter = await metricOf(ps, 'llm_proxy_health_shared_rounds_total', {
      result: 'read',
    });
    expect(Math.max(...readsAfter.map((r, i) => r - reads[i]!))).toBeGreaterThanOrEqual(3);
  });

  it('lets every replica see the provider go down and come back from the one probing it', async () => {
    const ps = await replicas(2);
    await holderOf(ps);
    const reads = await metricOf(ps, 'llm_proxy_health_shared_rounds_total', { result: 'read' });
    expect(await metricOf(ps, 'llm_proxy_provider_up', { provider: 'primary' })).toEqual([1, 1]);

    upstream.set({ behaviour: 'fail' });
    await vi.waitFor(
      async () =>
        expect(await metricOf(ps, 'llm_proxy_provider_up', { provider: 'primary' })).toEqual([
          0, 0,
        ]),
      { timeout: 5_000 },
    );
    upstream.set({ behaviour: 'ok' });
    await vi.waitFor(
      async () =>
        expect(await metricOf(ps, 'llm_proxy_provider_up', { provider: 'primary' })).toEqual([
          1, 1,
        ]),
      { timeout: 5_000 },
    );
    const readsAfter = await metricOf(ps, 'llm_proxy_health_shared_rounds_total', {
      result: 'read',
    });
    // A replica saw the change through the published results (at least one read; how many
    // rounds fit in the two waits depends on the runner's load).
    expect(Math.max(...readsAfter.map((r, i) => r - reads[i]!))).toBeGreaterThanOrEqual(1);
  });

  it('hands probing over within one lock expiry when the probing replica stops', async () => {
    const ps = await replicas(2);
    const holder = await holderOf(ps);
    const survivor = ps.find((p) => p !== holder)!;
    await shutDown(holder);
    const stoppedAt = Date.now();
    expect(holder.logs.some((l) => l.msg === 'health locks released')).toBe(true);
    await vi.waitFor(
      async () =>
        expect(await survivor.metric('llm_proxy_health_lock_held', { provider: 'primary' })).toBe(
          1,
        ),
      { timeout: 2 * LOCK_TTL_MS, interval: 10 },
    );
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(LOCK_TTL_MS);

    const before = probesSent();
    await sleep(5 * INTERVAL_MS);
    expect(probesSent() - before).toBeGreaterThanOrEqual(3);
    expect(await survivor.metric('llm_proxy_provider_up', { provider: 'primary' })).toBe(1);
  });
});
