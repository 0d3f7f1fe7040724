/**
 * RedisSharedProbes against a real redis-server: two (or three) sources stand for replicas
 * sharing one Redis; probes are counted by a fake probe function instead of a provider.
 */
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/ports.js';
import { startRedis, type RedisServer } from '../../test/support/redis-server.js';
import { CacheMetrics } from '../cache/metrics.js';
import { closeRedis, createRedisClient } from '../cache/redis.js';
import type { Provider } from '../upstream/index.js';
import { CONTRACT_TASKS, HEALTH_LOOP, Supervisor, type TaskHandle } from '../tasks/index.js';
import { parseExposition, sum } from '../telemetry/exposition.js';
import { silentLogger } from '../telemetry/logger.js';
import type { ProbeResult } from './health-state.js';
import { RedisSharedProbes, type SharedProbesOptions } from './shared-probes.js';
import { decodeResult, sharedHealthKeys } from './shared-result.js';

const INTERVAL_MS = 100;
const alpha = { name: 'alpha' } as unknown as Provider;
const beta = { name: 'beta' } as unknown as Provider;

let server: RedisServer;
let redis: Redis;
let supervisor: Supervisor;
let prefix: string;
let n = 0;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});

async function client(url = server.url, awaitReady = url === server.url): Promise<Redis> {
  const c = createRedisClient(
    { url, commandTimeoutMs: 300, connectTimeoutMs: 500 },
    new CacheMetrics(new Registry()),
    silentLogger(),
  );
  clients.push(c);
  if (awaitReady) await new Promise<void>((resolve) => c.once('ready', () => resolve()));
  return c;
}

beforeEach(async () => {
  prefix = `shared${++n}`;
  supervisor = new Supervisor({
    registry: new Registry(),
    logger: silentLogger(),
    tasks: CONTRACT_TASKS,
  });
  redis = await client();
});
afterEach(async () => {
  await supervisor.shutdown(1_000);
  expect(supervisor.leakedTotal()).toBe(0);
  await Promise.all(clients.splice(0).map((c) => closeRedis(c, 500)));
});

interface Replica {
  source: RedisSharedProbes;
  registry: Registry;
  probes: string[];
  /** One round in a fresh task, like one turn of the health loop. */
  round(providers?: Provider[]): Promise<Map<string, ProbeResult>>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

function replica(
  over: Partial<SharedProbesOptions> = {},
  result: ProbeResult = { ok: true, latencyMs: 5 },
): Replica {
  const registry = new Registry();
  const source = new RedisSharedProbes({
    redis,
    keyPrefix: prefix,
    intervalMs: INTERVAL_MS,
    logger: silentLogger(),
    registry,
    ...over,
  });
  const probes: string[] = [];
  const probe = async (p: Provider): Promise<ProbeResult> => {
    probes.push(p.name);
    return result;
  };
  return {
    source,
    registry,
    probes,
    round: async (providers = [alpha]) => {
      const handle = supervisor
        .scope('health_checker')
        .spawn(HEALTH_LOOP, (ctx) => source.round(ctx, providers, probe));
      const settled = await handle.settled;
      if (settled.outcome !== 'completed') throw new Error(`round ${settled.outcome}`);
      return settled.value;
    },
    metric: async (name, labels = {}) =>
      sum(parseExposition(await registry.metrics()), name, labels),
  };
}

const until = async (cond: () => Promise<boolean> | boolean, ms = 2_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('RedisSharedProbes', () => {
  it('lets one replica probe a provider and the other use its published result', async () => {
    const a = replica();
    const b = replica();
    expect(await a.round()).toEqual(new Map([['alpha', { ok: true, latencyMs: 5 }]]));
    expect(await b.round()).toEqual(new Map([['alpha', { ok: true, latencyMs: 5 }]]));
    expect(a.probes).toEqual(['alpha']);
    expect(b.probes).toEqual([]);
    expect(await redis.get(sharedHealthKeys(prefix).lock('alpha'))).toBe(a.source.instanceId);
    const published = decodeResult(await redis.get(sharedHealthKeys(prefix).result('alpha')));
    expect(published).toMatchObject({ ok: true, by: a.source.instanceId });
    expect(await a.metric('llm_proxy_health_shared_rounds_total', { result: 'probed' })).toBe(1);
    expect(await a.metric('llm_proxy_health_lock_held', { provider: 'alpha' })).toBe(1);
    expect(await b.metric('llm_proxy_health_shared_rounds_total', { result: 'read' })).toBe(1);
    expect(await b.metric('llm_proxy_health_lock_held', { provider: 'alpha' })).toBe(0);
  });

  it('shares a failed probe too, so every replica sees the provider down', async () => {
    const a = replica({}, { ok: false });
    const b = replica();
    await a.round();
    expect(await b.round()).toEqual(new Map([['alpha', { ok: false }]]));
    expect(b.probes).toEqual([]);
  });

  it('locks each provider on its own: replicas may split the probing between them', async () => {
    const a = replica();
    const b = replica();
    await a.round([alpha]);
    await b.round([alpha, beta]);
    expect(a.probes).toEqual(['alpha']);
    expect(b.probes).toEqual(['beta']);
    expect(b.source.holding()).toEqual(['beta']);
  });

  it('uses a published result once: reading it again before the next probe is no news', async () => {
    const a = replica();
    const b = replica();
    await a.round();
    expect((await b.round()).size).toBe(1);
    expect((await b.round()).size).toBe(0);
    expect(await b.metric('llm_proxy_health_shared_rounds_total', { result: 'no_news' })).toBe(1);
    await a.round();
    expect((await b.round()).size).toBe(1);
  });

  it('treats a result older than two intervals as no news', async () => {
    const a = replica();
    const b = replica();
    await a.round();
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS + 20));
    expect((await b.round()).size).toBe(0);
    expect(b.probes).toEqual([]);
  });

  it('renews its lock each round while it holds it', async () => {
    const a = replica();
    const lock = sharedHealthKeys(prefix).lock('alpha');
    await a.round();
    await new Promise((r) => setTimeout(r, INTERVAL_MS));
    await a.round();
    expect(await redis.pttl(lock)).toBeGreaterThan(3 * INTERVAL_MS - 50);
    expect(a.probes).toEqual(['alpha', 'alpha']);
  });

  it('never renews a lock another instance has taken meanwhile (compare and set)', async () => {
    const a = replica();
    const lock = sharedHealthKeys(prefix).lock('alpha');
    await a.round();
    await redis.set(lock, 'someone-else', 'PX', 5_000);
    await a.round();
    expect(await redis.get(lock)).toBe('someone-else');
    expect(a.probes).toEqual(['alpha']);
    expect(a.source.holding()).toEqual([]);
  });

  it('hands over at the first round after the lock expires when the holder dies without releasing', async () => {
    const a = replica();
    const b = replica();
    const lock = sharedHealthKeys(prefix).lock('alpha');
    await a.round();
    // The lock expires one lock TTL (3 intervals) after the holder's last renewal.
    expect(await redis.pttl(lock)).toBeGreaterThan(2 * INTERVAL_MS);
    expect(await redis.pttl(lock)).toBeLessThanOrEqual(3 * INTERVAL_MS);
    // a never runs again. While the lock lives, b only reads...
    await b.round();
    expect(b.probes).toEqual([]);
    await until(async () => (await redis.exists(lock)) === 0);
    // ...and its first round after the expiry takes over.
    await b.round();
    expect(b.probes).toEqual(['alpha']);
    expect(await redis.get(lock)).toBe(b.source.instanceId);
  });

  it('releases its locks on stop, so another replica takes over at its next round', async () => {
    const a = replica();
    const b = replica();
    await a.round();
    await a.source.stop();
    expect(await redis.exists(sharedHealthKeys(prefix).lock('alpha'))).toBe(0);
    await b.round();
    expect(b.probes).toEqual(['alpha']);
    await a.round();
    expect(a.probes).toEqual(['alpha']);
  });

  it('releases its locks when the health loop is cancelled', async () => {
    const a = replica();
    const lock = sharedHealthKeys(prefix).lock('alpha');
    let handle: TaskHandle<void> | undefined;
    const probed = new Promise<void>((resolve) => {
      handle = supervisor
        .scope('health_checker')
        .every(HEALTH_LOOP, { intervalMs: INTERVAL_MS }, async (ctx) => {
          await a.source.round(ctx, [alpha], async () => ({ ok: true, latencyMs: 1 }));
          resolve();
        });
    });
    await probed;
    expect(await redis.get(lock)).toBe(a.source.instanceId);
    handle?.cancel();
    await until(async () => (await redis.exists(lock)) === 0);
  });

  it('never releases a lock that is no longer its own', async () => {
    const a = replica();
    const lock = sharedHealthKeys(prefix).lock('alpha');
    await a.round();
    await redis.set(lock, 'someone-else', 'PX', 5_000);
    await a.source.stop();
    expect(await redis.get(lock)).toBe('someone-else');
  });

  it('probes locally while Redis is unavailable, never losing health', async () => {
    const nobody = await freePort();
    const a = replica({ redis: await client(`redis://127.0.0.1:${nobody}`) });
    expect(await a.round()).toEqual(new Map([['alpha', { ok: true, latencyMs: 5 }]]));
    expect(a.probes).toEqual(['alpha']);
    expect(await a.metric('llm_proxy_health_shared_rounds_total', { result: 'local' })).toBe(1);
  });

  it('waits for the first connection at start-up rather than probing locally', async () => {
    const a = replica({ redis: await client(server.url, false), intervalMs: 1_000 });
    await a.round();
    expect(a.source.holding()).toEqual(['alpha']);
    expect(await a.metric('llm_proxy_health_shared_rounds_total', { result: 'local' })).toBe(0);
    expect(await a.metric('llm_proxy_health_shared_rounds_total', { result: 'probed' })).toBe(1);
  });

  it('probes locally when a lock holder publishes nothing for two lock expiries', async () => {
    const lock = sharedHealthKeys(prefix).lock('alpha');
    await redis.set(lock, 'silent-holder', 'PX', 60_000);
    const b = replica({ lockTtlMs: 100 });
    expect((await b.round()).size).toBe(0);
    expect(b.probes).toEqual([]);
    await new Promise((r) => setTimeout(r, 220));
    expect((await b.round()).size).toBe(1);
    expect(b.probes).toEqual(['alpha']);
    expect(await redis.get(lock)).toBe('silent-holder');
  });
});
