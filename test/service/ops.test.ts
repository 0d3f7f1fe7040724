/**
 * The operational surface of a running proxy (in-process, real loopback HTTP): liveness,
 * readiness, the Prometheus scrape (complete from start-up, lint-clean), and the admin
 * routes with their token rules.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExposition, select, type Sample } from '../../src/telemetry/exposition.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const CONTRACT_PAIRS = [
  'http/request',
  'fallback_engine/attempt',
  'health_checker/loop',
  'health_checker/probe',
  'unified_cache/cleanup',
  'unified_cache/warm',
  'unified_cache/monitor',
  'unified_cache/redis_write',
  'condenser_cache/persist',
  'condenser_cache/evict',
  'condenser_cache/claim_renew', // declared beyond the contract's list, so pre-initialised too
  'fallback_engine/hedge', // likewise
  'condenser_cache/clear', // likewise
  'response_store/persist', // likewise
  'response_store/evict', // likewise
] as const;

const ADMIN = 'admin-secret';
const PROXY_KEY = 'ops-proxy-key';

let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

const config = (auth: Record<string, unknown> = { adminToken: ADMIN }, latencyMs = 0) => ({
  auth,
  providers: [{ name: 'demo', type: 'demo', models: ['demo-model'], latencyMs }],
  routing: { healthCheck: { enabled: false } },
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** No presented or configured credential reaches a log line (answers are checked inline). */
function expectNoTokenIn(running: RunningProxy, tokens: readonly string[]): void {
  const logged = JSON.stringify(running.logs);
  for (const token of tokens) expect(logged).not.toContain(token);
}

function pairsOf(samples: readonly Sample[], name: string): Map<string, number> {
  return new Map(select(samples, name).map((s) => [`${s.labels.owner}/${s.labels.task}`, s.value]));
}

function promtool(scrape: string): { status: number | null; output: string } {
  const run = spawnSync('/usr/bin/promtool', ['check', 'metrics'], {
    input: scrape,
    encoding: 'utf8',
  });
  if (run.error !== undefined) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** A streamed chat request, read to the end; resolves to the raw SSE text. */
async function streamChat(url: string, content: string): Promise<string> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'demo-model',
      stream: true,
      messages: [{ role: 'user', content }],
    }),
  });
  expect(res.status).toBe(200);
  return res.text();
}

describe('liveness and readiness', () => {
  it('answers /healthz 200 and /readyz 200 once serving', async () => {
    proxy = await startProxy(config());
    const health = await fetch(`${proxy.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${proxy.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});

describe('/metrics', () => {
  it('serves Prometheus text with every contract owner/task pair from start-up, idle ones at 0', async () => {
    proxy = await startProxy(config());
    const res = await fetch(`${proxy.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(await res.text());
    // Started loops (cache cleanup, monitor) are live at once; every other pair reads 0.
    const live = new Map<string, number>();
    for (const t of proxy.app.supervisor.snapshot()) {
      live.set(`${t.owner}/${t.task}`, (live.get(`${t.owner}/${t.task}`) ?? 0) + 1);
    }
    expect([...live.keys()].every((k) => k.startsWith('unified_cache/'))).toBe(true);
    const expected = {
      llm_proxy_tasks_active: (pair: string) => live.get(pair) ?? 0,
      llm_proxy_tasks_started_total: (pair: string) => live.get(pair) ?? 0,
      llm_proxy_tasks_leaked: () => 0,
      llm_proxy_tasks_leaked_total: () => 0,
    };
    for (const [name, value] of Object.entries(expected)) {
      const pairs = pairsOf(samples, name);
      for (const pair of CONTRACT_PAIRS) {
        expect([name, pair, pairs.get(pair)]).toEqual([name, pair, value(pair)]);
      }
    }
    for (const outcome of ['completed', 'failed', 'cancelled', 'timed_out']) {
      const finished = select(samples, 'llm_proxy_tasks_finished_total', { outcome });
      expect(finished.map((s) => `${s.labels.owner}/${s.labels.task}`).sort()).toEqual(
        [...CONTRACT_PAIRS].sort(),
      );
    }
    expect(select(samples, 'llm_proxy_shutdown_duration_seconds')).toHaveLength(1);
  });

  it('includes process metrics', async () => {
    proxy = await startProxy(config());
    const samples = parseExposition(await (await fetch(`${proxy.url}/metrics`)).text());
    const names = new Set(samples.map((s) => s.name));
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(names, name).toContain(name);
    }
  });

  it('passes `promtool check metrics` with no problems, after traffic too', async () => {
    proxy = await startProxy(config());
    expect(await streamChat(proxy.url, 'hello')).toContain('data: [DONE]');
    await fetch(`${proxy.url}/nope`);
    const scrape = await (await fetch(`${proxy.url}/metrics`)).text();
    expect(promtool(scrape)).toEqual({ status: 0, output: '' });
  });

  it('needs the metrics token when one is configured', async () => {
    proxy = await startProxy(config({ adminToken: ADMIN, metricsToken: 'scrape-me' }));
    const none = await fetch(`${proxy.url}/metrics`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    expect((await fetch(`${proxy.url}/metrics`, { headers: bearer('wrong') })).status).toBe(401);
    // The admin token is not a metrics token.
    expect((await fetch(`${proxy.url}/metrics`, { headers: bearer(ADMIN) })).status).toBe(401);
    const ok = await fetch(`${proxy.url}/metrics`, { headers: bearer('scrape-me') });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('llm_proxy_tasks_active{');
  });
});

describe('admin routes', () => {
  const routes = [
    ['GET', '/admin/tasks'],
    ['POST', '/admin/drain'],
  ] as const;

  it('answer 401 without the admin token or with a wrong one, and 200 with it', async () => {
    proxy = await startProxy(config({ apiKeys: [PROXY_KEY], adminToken: ADMIN }));
    for (const [method, path] of routes) {
      for (const headers of [
        {},
        bearer('wrong'),
        { authorization: ADMIN },
        bearer(PROXY_KEY),
        { 'x-api-key': ADMIN },
      ]) {
        const res = await fetch(`${proxy.url}${path}`, { method, headers });
        expect([method, path, res.status]).toEqual([method, path, 401]);
        const text = await res.text();
        for (const token of [ADMIN, PROXY_KEY]) expect(text).not.toContain(token);
        const body = JSON.parse(text) as { error: Record<string, unknown> };
        expect(body.error).toMatchObject({
          code: 'invalid_admin_token',
          type: 'authentication_error',
        });
      }
    }
    expect(proxy.app.state).toBe('ready');
    const tasks = await fetch(`${proxy.url}/admin/tasks`, { headers: bearer(ADMIN) });
    expect(tasks.status).toBe(200);
    await tasks.arrayBuffer(); // read whole, so no response is left paused (nodejs/undici#5360)
    const drained = await fetch(`${proxy.url}/admin/drain`, {
      method: 'POST',
      headers: bearer(ADMIN),
    });
    expect(drained.status).toBe(200);
    expectNoTokenIn(proxy, [ADMIN, PROXY_KEY]);
  });

  it('answer 401 saying the admin API is disabled when no admin token is configured (the default)', async () => {
    proxy = await startProxy(config({}));
    for (const [method, path] of routes) {
      for (const headers of [{}, bearer(ADMIN), { 'x-api-key': ADMIN }]) {
        const res = await fetch(`${proxy.url}${path}`, { method, headers });
        expect([method, path, res.status]).toEqual([method, path, 401]);
        const text = await res.text();
        expect(text).not.toContain(ADMIN);
        const { error } = JSON.parse(text) as { error: Record<string, unknown> };
        expect(error).toMatchObject({
          type: 'authentication_error',
          code: 'admin_disabled',
          param: null,
        });
        expect(error.message).toMatch(/admin API is disabled/);
        expect(error.message).toContain('auth.adminToken');
      }
    }
    expect(proxy.app.state).toBe('ready');
    expectNoTokenIn(proxy, [ADMIN]);
  });

  it('/admin/tasks lists live tasks with id, owner, task, state, age, leaked and spawn site', async () => {
    proxy = await startProxy(config({ adminToken: ADMIN }, 400));
    const streaming = streamChat(proxy.url, 'slow one');
    type Listed = {
      id: number;
      owner: string;
      task: string;
      state: string;
      age: number;
      ageMs: number;
      leaked: boolean;
      site: string;
    };
    let tasks: Listed[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${proxy.url}/admin/tasks`, { headers: bearer(ADMIN) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { count: number; tasks: Listed[] };
      expect(body.count).toBe(body.tasks.length);
      tasks = body.tasks;
      if (tasks.some((t) => t.task === 'attempt')) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const request = tasks.find((t) => t.owner === 'http' && t.task === 'request');
    const attempt = tasks.find((t) => t.owner === 'fallback_engine' && t.task === 'attempt');
    for (const t of [request, attempt]) {
      expect(t).toMatchObject({ state: 'running', leaked: false });
      expect(t!.id).toEqual(expect.any(Number));
      expect(t!.ageMs).toBeGreaterThanOrEqual(0);
      expect(t!.age).toBe(t!.ageMs / 1000);
      expect(t!.site).toMatch(/catalog\.(ts|js):\d+:\d+/);
    }
    expect(new Set(tasks.map((t) => t.id)).size).toBe(tasks.length);
    // Background loops of the cache are live tasks too.
    expect(tasks.map((t) => `${t.owner}/${t.task}`)).toContain('unified_cache/cleanup');
    expect(await streaming).toContain('data: [DONE]');

    const after = (await (
      await fetch(`${proxy.url}/admin/tasks`, { headers: bearer(ADMIN) })
    ).json()) as {
      tasks: Listed[];
    };
    expect(after.tasks.filter((t) => t.owner === 'http' || t.owner === 'fallback_engine')).toEqual(
      [],
    );
  });
});
