/**
 * The drain summary's cancellation figures are true: with Redis, the response cache and the
 * condenser configured, POST /admin/drain answers a `cancelledTasks` equal to the rise of
 * llm_proxy_task_cancellations_total across the drain, and a `cancelledByReason` equal to
 * its rise per reason (the cache loops closed with `scope_closed`, the health loop cancelled
 * with `shutdown`). The "shutdown complete" log line spreads the same summary.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { parseExposition, select, type Sample } from '../../src/telemetry/exposition.js';
import { CANCEL_REASONS, type CancelReason } from '../../src/tasks/index.js';
import { eventually } from '../cache-proxy/replicas.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const ADMIN = 'admin-secret';
const KEY = 'proxy-key';

let upstream: FakeUpstream;
let redis: RedisServer;
let proxy: RunningProxy | undefined;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'answerer' });
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
  await upstream.close();
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

const config = () => ({
  auth: { apiKeys: [KEY], adminToken: ADMIN },
  providers: [
    {
      name: 'answerer',
      type: 'openai',
      baseUrl: `${upstream.url}/v1`,
      models: ['gpt-4o-mini', 'summarizer-mini'],
    },
  ],
  routing: { healthCheck: { enabled: true, intervalMs: 60_000, timeoutMs: 1_000 } },
  cache: {
    redis: { url: redis.url, keyPrefix: 'drain-counts' },
    cleanupIntervalMs: 60_000,
    monitorIntervalMs: 60_000,
  },
  condense: {
    summarizerModel: 'summarizer-mini',
    keepRecent: 1,
    models: { 'gpt-4o-mini': { maxTokens: 300 } },
  },
  server: { shutdownDeadlineMs: 5_000 },
});

/** llm_proxy_task_cancellations_total summed over owner/task, per reason. */
function cancellationsByReason(samples: Sample[]): Record<CancelReason, number> {
  const out = Object.fromEntries(CANCEL_REASONS.map((r) => [r, 0])) as Record<CancelReason, number>;
  for (const s of select(samples, 'llm_proxy_task_cancellations_total')) {
    out[s.labels.reason as CancelReason] += s.value;
  }
  return out;
}

async function scrape(p: RunningProxy): Promise<Sample[]> {
  const res = await fetch(`${p.url}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

describe('the drain summary counts every cancellation', () => {
  it('equals the rise of llm_proxy_task_cancellations_total, in total and per reason', async () => {
    proxy = await startProxy(config());
    const p = proxy;
    await eventually(async () => expect(await p.metric('llm_proxy_cache_redis_up')).toBe(1));
    // The background loops are running before the drain starts.
    await eventually(async () =>
      expect(await p.metric('llm_proxy_tasks_active', { owner: 'health_checker' })).toBe(1),
    );
    expect(await p.metric('llm_proxy_tasks_active', { owner: 'unified_cache' })).toBeGreaterThan(1);
    const answer = await p.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'one answer for the cache' }],
    });
    expect(answer.choices[0]?.message.content).toBe('echo: one answer for the cache');

    const before = cancellationsByReason(await scrape(p));
    const res = await fetch(`${p.url}/admin/drain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(res.status).toBe(200);
    const summary = (await res.json()) as {
      cancelledTasks: number;
      cancelledByReason: Record<string, number>;
      leakedTotal: number;
      activeTasks: number;
    };
    const after = cancellationsByReason(await scrape(p));

    const rise: Record<string, number> = {};
    let total = 0;
    for (const r of CANCEL_REASONS) {
      const d = after[r] - before[r];
      if (d > 0) rise[r] = d;
      total += d;
    }
    expect(summary.cancelledTasks).toBe(total);
    expect(summary.cancelledByReason).toEqual(rise);
    // The cache's loops and daemon end with scope_closed, the health loop with shutdown.
    expect(summary.cancelledByReason.scope_closed).toBeGreaterThanOrEqual(3);
    expect(summary.cancelledByReason.shutdown).toBeGreaterThanOrEqual(1);
    expect(summary).toMatchObject({ leakedTotal: 0, activeTasks: 0 });
    expect(p.logs.find((l) => l.msg === 'drained')).toMatchObject({
      cancelledTasks: total,
      cancelledByReason: rise,
    });
  });
});
