/**
 * Replicas sharing Redis agree on who makes a summary: the first to ask claims it, the others
 * wait for it instead of asking the summariser again; a failed claimant hands over at once,
 * a dead one when its claim lapses (within seconds: a claim is a short lease its holder
 * renews while it makes the summary). Two "replicas" here are two condensers with their own
 * supervisor, cache and Redis client, over one real redis-server and one summariser server.
 */
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CacheMetrics } from '../../src/cache/metrics.js';
import {
  Condenser,
  CondenserCache,
  type ChatMessage,
  type CondenseModelConfig,
} from '../../src/condense/index.js';
import { summaryCacheKey } from '../../src/condense/cache-key.js';
import { loadTokenizer } from '../../src/condense/tokens.js';
import { CONTRACT_TASKS, Supervisor } from '../../src/tasks/index.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import {
  condenseTotal,
  httpSummarize,
  startSummarizerServer,
  type SummarizerServer,
} from './summarizer-server.js';

const SENTENCE = 'The night train from Lyon reaches Paris before breakfast and costs forty euros. ';
const OLDER: ChatMessage[] = ['one', 'two', 'three'].flatMap((day) => [
  { role: 'user' as const, content: `day ${day}: ${SENTENCE.repeat(5)}` },
  { role: 'assistant' as const, content: `reply ${day}: ${SENTENCE.repeat(5)}` },
]);
const RECENT: ChatMessage[] = [{ role: 'user', content: 'Which train should I take?' }];
const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'You are a travel assistant.' },
  ...OLDER,
  ...RECENT,
];
const MODEL: CondenseModelConfig = {
  maxTokens: 300,
  keepRecent: 1,
  summarizerModel: 'summarizer-mini',
  onFailure: 'truncate',
};
const PREFIX = 'claims';

interface Replica {
  condenser: Condenser;
  cache: CondenserCache;
  registry: Registry;
  stop(): Promise<void>;
  /** Dies as a SIGKILLed process would: its Redis connection drops, nothing is released. */
  crash(): Promise<void>;
}

let redis: RedisServer;
let summariser: SummarizerServer;
const replicas: Replica[] = [];

beforeAll(async () => {
  await loadTokenizer();
  redis = await startRedis();
  summariser = await startSummarizerServer();
});
afterAll(async () => {
  await summariser.close();
  await redis.stop();
});
beforeEach(() => {
  summariser.requests.length = 0;
  summariser.mode = 'ok';
  summariser.delayMs = 0;
});
afterEach(async () => {
  for (const r of replicas.splice(0)) await r.stop();
  const direct = new Redis(redis.url);
  await direct.flushall();
  await direct.quit();
});

/** A replica; `claimMs` undefined: the cache's default. */
async function replica(claimMs?: number, user?: string): Promise<Replica> {
  const registry = new Registry();
  const supervisor = new Supervisor({ registry, logger: silentLogger(), tasks: CONTRACT_TASKS });
  const client = new Redis(redis.url, {
    commandTimeout: 1_000,
    lazyConnect: true,
    ...(user === undefined ? {} : { username: user, password: 'pw' }),
  });
  await client.connect();
  const cache = new CondenserCache({
    scope: supervisor.scope('condenser_cache'),
    metrics: new CacheMetrics(registry),
    logger: silentLogger(),
    redis: client,
    keyPrefix: PREFIX,
    maxEntries: 100,
    ttlSeconds: 60,
    ...(claimMs === undefined ? {} : { claimMs }),
  });
  const condenser = new Condenser({
    models: { m: MODEL },
    summarize: httpSummarize(summariser.baseUrl),
    cache,
    registry,
    logger: silentLogger(),
  });
  let crashed = false;
  const r: Replica = {
    condenser,
    cache,
    registry,
    stop: async () => {
      await cache.stop(1_000);
      expect(supervisor.liveCount()).toBe(0);
      if (!crashed) await client.quit();
    },
    crash: async () => {
      crashed = true;
      client.disconnect();
      await cache.stop(0);
    },
  };
  replicas.push(r);
  return r;
}

const live = (): AbortSignal => new AbortController().signal;

/** `llm_proxy_condense_claims_total` of a replica, by result (every result is pre-initialised). */
async function claims(r: Replica): Promise<Record<string, number>> {
  const text = await r.registry.metrics();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^llm_proxy_condense_claims_total\{result="(\w+)"\} (\d+)$/gm))
    out[m[1]!] = Number(m[2]);
  return out;
}
/** Claim renewal tasks of a replica that finished with `outcome`. */
async function renewals(r: Replica, outcome: string): Promise<number> {
  const text = await r.registry.getSingleMetricAsString('llm_proxy_tasks_finished_total');
  const line = text
    .split('\n')
    .find((l) => l.includes('task="claim_renew"') && l.includes(`outcome="${outcome}"`));
  return Number(line?.split(' ').at(-1));
}

const condense = (r: Replica, signal = live()) =>
  r.condenser.condense('m', structuredClone(CONVERSATION), signal);

describe('summary claims across replicas', () => {
  it('has the second replica wait for the summary the first is making, not ask again', async () => {
    const [a, b] = [await replica(), await replica()];
    summariser.delayMs = 300;
    const first = condense(a);
    await expect.poll(() => summariser.requests.length).toBe(1);
    const second = condense(b);
    const [ra, rb] = await Promise.all([first, second]);
    expect(summariser.requests).toHaveLength(1);
    expect(ra).toMatchObject({ condensed: true, cacheHit: false });
    expect(rb).toMatchObject({ condensed: true, cacheHit: true });
    expect(rb.messages).toEqual(ra.messages);
    expect(await condenseTotal(b.registry, 'cache_hit')).toBe(1);
    expect(await condenseTotal(b.registry, 'condensed')).toBe(0);
    expect(await claims(a)).toEqual({ claimed: 1, waited: 0, handed_over: 0, unshared: 0 });
    expect(await claims(b)).toEqual({ claimed: 0, waited: 1, handed_over: 0, unshared: 0 });
    // The waiting replica now holds the summary in memory too.
    expect(b.cache.size).toBe(1);
    // Once the summary is stored, its maker's claim is gone (and no longer renewed).
    expect(await a.cache.flush()).toBe(true);
    const direct = new Redis(redis.url);
    try {
      const hash = summaryCacheKey(MODEL.summarizerModel, OLDER);
      expect(await direct.exists(a.cache.redisKey(hash))).toBe(1);
      expect(await direct.exists(a.cache.claimKey(hash))).toBe(0);
    } finally {
      await direct.quit();
    }
  });

  it('hands the claim over at once when the claimant cannot store its summary', async () => {
    const direct = new Redis(redis.url);
    try {
      // Replica a may take claims but not write summaries: its persist fails (NOPERM).
      await direct.acl('SETUSER', 'claims-only', 'on', '>pw', `~${PREFIX}:v1:sumclaim:*`, '+@all');
      const [a, b] = [await replica(60_000, 'claims-only'), await replica(60_000)];
      summariser.delayMs = 300;
      const first = condense(a);
      await expect.poll(() => summariser.requests.length).toBe(1);
      summariser.delayMs = 0;
      const started = performance.now();
      const second = condense(b);
      expect(await first).toMatchObject({ condensed: true, cacheHit: false });
      const rb = await second;
      // Not the 60 s the claim would last: a's persist task released it when its write failed.
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(summariser.requests).toHaveLength(2);
      expect(rb).toMatchObject({ condensed: true, cacheHit: false });
      expect(await claims(b)).toEqual({ claimed: 1, waited: 0, handed_over: 1, unshared: 0 });
      expect(
        await a.registry.getSingleMetricAsString('llm_proxy_cache_redis_errors_total'),
      ).toMatch(/op="set"[^\n]*\} [1-9]/);
    } finally {
      await direct.acl('DELUSER', 'claims-only');
      await direct.quit();
    }
  });

  it('hands the claim over at once when the claimant fails', async () => {
    const [a, b] = [await replica(60_000), await replica(60_000)];
    summariser.mode = 'fail';
    summariser.delayMs = 300;
    const first = condense(a);
    await expect.poll(() => summariser.requests.length).toBe(1);
    summariser.mode = 'ok';
    summariser.delayMs = 0;
    const started = performance.now();
    const second = condense(b);
    const ra = await first;
    expect(ra.truncatedCount).toBeGreaterThan(0); // a's own policy: truncate
    const rb = await second;
    // Not the 60 s the claim would last: a released it when its summariser failed.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(summariser.requests).toHaveLength(2);
    expect(rb).toMatchObject({ condensed: true, cacheHit: false });
    expect(await claims(b)).toEqual({ claimed: 1, waited: 0, handed_over: 1, unshared: 0 });
  });

  it('makes the summary once the claim of a replica that went away expires', async () => {
    const b = await replica();
    const direct = new Redis(redis.url);
    try {
      // A replica that claimed the summary and died: its claim outlives it by 600 ms.
      const hash = summaryCacheKey(MODEL.summarizerModel, OLDER);
      expect(await direct.set(b.cache.claimKey(hash), 'dead-replica:1', 'PX', 600, 'NX')).toBe(
        'OK',
      );
      const started = performance.now();
      const rb = await condense(b);
      expect(performance.now() - started).toBeGreaterThanOrEqual(500);
      expect(summariser.requests).toHaveLength(1);
      expect(rb).toMatchObject({ condensed: true, cacheHit: false });
      expect(await claims(b)).toEqual({ claimed: 1, waited: 0, handed_over: 1, unshared: 0 });
    } finally {
      await direct.quit();
    }
  });

  it('notices within seconds, with the default claim, a claimant that died mid-summary', async () => {
    const [a, b] = [await replica(), await replica()];
    summariser.delayMs = 60_000;
    const dying = new AbortController();
    const first = condense(a, dying.signal).catch(() => 'died');
    await expect.poll(() => summariser.requests.length).toBe(1);
    summariser.delayMs = 0;
    // Killed mid-summary: no renewal and no release reach Redis any more.
    await a.crash();
    dying.abort(new Error('process killed'));
    expect(await first).toBe('died');
    const started = performance.now();
    const rb = await condense(b);
    // The claim lapses within one claim lifetime (5 s) of the last renewal, not 30 s.
    expect(performance.now() - started).toBeLessThan(8_000);
    expect(rb).toMatchObject({ condensed: true, cacheHit: false });
    expect(summariser.requests).toHaveLength(2);
    expect(await claims(b)).toEqual({ claimed: 1, waited: 0, handed_over: 1, unshared: 0 });
  });

  it('keeps the claim of a live claimant whose summary outlasts the claim: no second summary', async () => {
    // Claims of 600 ms, renewed every 200 ms, and a summariser taking over three times that.
    const [a, b] = [await replica(600), await replica(600)];
    summariser.delayMs = 2_000;
    const first = condense(a);
    await expect.poll(() => summariser.requests.length).toBe(1);
    const second = condense(b);
    const [ra, rb] = await Promise.all([first, second]);
    expect(summariser.requests).toHaveLength(1);
    expect(ra).toMatchObject({ condensed: true, cacheHit: false });
    expect(rb).toMatchObject({ condensed: true, cacheHit: true });
    expect(await claims(b)).toEqual({ claimed: 0, waited: 1, handed_over: 0, unshared: 0 });
    // a's renewal ended with its summary stored, as a task that completed.
    expect(await a.cache.flush()).toBe(true);
    expect(await renewals(a, 'completed')).toBe(1);
    expect(await renewals(a, 'failed')).toBe(0);
  });

  it('neither renews nor releases a claim another replica took after its own lapsed', async () => {
    const a = await replica(200);
    const direct = new Redis(redis.url);
    try {
      const key = a.cache.claimKey('h');
      const mine = await a.cache.claim('h', live());
      expect(mine.kind).toBe('mine');
      // a's claim lapses (as if its renewals were lost) and another replica takes it.
      await direct.del(key);
      expect(await direct.set(key, 'other-replica:1', 'PX', 2_000, 'NX')).toBe('OK');
      // a's renewals (every ~67 ms) come and go without touching it: it would be 200 ms.
      await new Promise((r) => setTimeout(r, 300));
      expect(await direct.get(key)).toBe('other-replica:1');
      expect(await direct.pttl(key)).toBeGreaterThan(1_000);
      if (mine.kind === 'mine') await a.cache.release('h', mine.token);
      expect(await direct.get(key)).toBe('other-replica:1');
      expect(await a.cache.pollClaimed('h', live())).toBe('waiting');
    } finally {
      await direct.quit();
    }
  });

  it('leaves no claim behind for a request that went away while claiming', async () => {
    const a = await replica();
    const direct = new Redis(redis.url);
    try {
      const gone = new AbortController();
      const reason = new Error('client went away');
      gone.abort(reason);
      await expect(a.cache.claim('h', gone.signal)).rejects.toBe(reason);
      expect(await direct.exists(a.cache.claimKey('h'))).toBe(0);
    } finally {
      await direct.quit();
    }
  });

  it('makes its own summary, without waiting, when Redis is unreachable', async () => {
    const b = await replica();
    await redis.kill();
    try {
      await expect.poll(() => b.cache.claim('x', live())).toEqual({ kind: 'unshared' });
      const rb = await condense(b);
      expect(rb).toMatchObject({ condensed: true, cacheHit: false });
      expect(summariser.requests).toHaveLength(1);
      expect((await claims(b)).unshared).toBe(1);
    } finally {
      await redis.restart();
    }
  });
});
