/**
 * The watchdog on a running proxy (in-process, real loopback HTTP): /healthz answers 503
 * naming a critical loop that stopped completing iterations, and leaked tasks over a set
 * threshold; /readyz keeps to the drain state throughout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CACHE_CLEANUP, HEALTH_LOOP } from '../../src/tasks/index.js';
import { expectNoLeaks, resourceBaseline } from '../support/no-leaks.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

let proxy: RunningProxy | undefined;
/** Set by the test that leaks on purpose: it tears down itself (stop() asserts no leaks). */
let teardown: (() => Promise<void>) | undefined;
afterEach(async () => {
  if (teardown !== undefined) await teardown();
  else await proxy?.stop();
  proxy = undefined;
  teardown = undefined;
});

const demo = (extra: Record<string, unknown> = {}) => ({
  name: 'demo',
  type: 'demo',
  models: ['demo-model'],
  latencyMs: 0,
  ...extra,
});

interface Probe {
  status: number;
  body: Record<string, unknown>;
}

async function get(url: string): Promise<Probe> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function waitFor(
  what: string,
  url: string,
  status: number,
  timeoutMs = 3_000,
): Promise<Probe> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const probe = await get(url);
    if (probe.status === status) return probe;
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A gate a loop's run waits on: `opened` resolves once the run is waiting. */
function gate(): { wait: () => Promise<void>; open: () => void; waiting: Promise<void> } {
  let open!: () => void;
  let arrived!: () => void;
  const released = new Promise<void>((r) => (open = r));
  const waiting = new Promise<void>((r) => (arrived = r));
  return {
    wait: () => {
      arrived();
      return released;
    },
    open: () => open(),
    waiting,
  };
}

describe('/healthz watchdog: stalled loops', () => {
  it('answers 503 naming a critical loop stalled past k intervals, and 200 once it completes', async () => {
    // The real health loop can't stall (each probe has a deadline): the critical loop here is
    // one of the same name on the proxy's own supervisor, its second run held on a gate.
    const p = await startProxy({
      providers: [demo()],
      routing: { healthCheck: { enabled: false } },
      server: { watchdog: { loops: ['health_checker/loop'], stalledIntervals: 3 } },
    });
    proxy = p;
    expect((await get(`${p.url}/healthz`)).status).toBe(200); // and the first request is served
    const held = gate();
    let runs = 0;
    p.app.supervisor
      .scope('health_checker')
      .every(HEALTH_LOOP, { intervalMs: 100, jitter: 0 }, async (ctx) => {
        runs++;
        if (runs === 2) await Promise.race([held.wait(), new Promise((r) => ctx.onCancel(r))]);
      });
    await held.waiting;
    expect((await get(`${p.url}/healthz`)).status).toBe(200);

    const stalled = await waitFor('the loop is called stalled', `${p.url}/healthz`, 503);
    expect(stalled.body).toMatchObject({
      status: 'stalled',
      loops: [{ owner: 'health_checker', task: 'loop', intervalSeconds: 0.1 }],
    });
    const [loop] = stalled.body.loops as { lastSuccessAgeSeconds: number; lastSuccessAt: string }[];
    expect(loop!.lastSuccessAgeSeconds).toBeGreaterThan(0.3);
    expect(Date.parse(loop!.lastSuccessAt)).toBeLessThanOrEqual(Date.now());
    expect(await get(`${p.url}/readyz`)).toEqual({ status: 200, body: { status: 'ready' } });
    expect(
      await p.metric('llm_proxy_http_requests_total', { route: '/healthz', status: '503' }),
    ).toBeGreaterThanOrEqual(1);

    held.open();
    const recovered = await waitFor('the loop completes again', `${p.url}/healthz`, 200);
    expect(recovered.body).toEqual({ status: 'ok' });
  });

  it('ignores a stalled loop that is not critical', async () => {
    const p = await startProxy({
      providers: [demo()],
      routing: { healthCheck: { enabled: false } },
    });
    proxy = p;
    const held = gate();
    p.app.supervisor
      .scope('stall_test')
      .every(CACHE_CLEANUP, { intervalMs: 10, jitter: 0 }, (ctx) =>
        Promise.race([held.wait(), new Promise<void>((r) => ctx.onCancel(() => r()))]),
      );
    await held.waiting;
    await new Promise((r) => setTimeout(r, 60));
    const cleanup = p.app.supervisor
      .loopHealth()
      .find((l) => l.task === 'cleanup' && l.intervalMs === 10);
    expect(cleanup!.sinceSuccessMs).toBeGreaterThan(30);
    expect(await get(`${p.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    held.open();
  });

  it('answers 200 while the real health loop runs, and when health checking is off', async () => {
    const checked = await startProxy({
      providers: [demo()],
      routing: { healthCheck: { intervalMs: 50, timeoutMs: 50 } },
    });
    proxy = checked;
    await new Promise((r) => setTimeout(r, 200));
    expect(checked.app.supervisor.loopHealth().map((l) => `${l.owner}/${l.task}`)).toContain(
      'health_checker/loop',
    );
    expect(await get(`${checked.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    await checked.stop();

    proxy = await startProxy({
      providers: [demo()],
      routing: { healthCheck: { enabled: false } },
      server: { watchdog: { stalledIntervals: 1 } },
    });
    await new Promise((r) => setTimeout(r, 50));
    // Not running is not stalled: nothing to restart the replica for.
    expect(await get(`${proxy.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
  });
});

describe('/healthz watchdog: leaked tasks', () => {
  it('answers 503 while leaked tasks reach the threshold, and 200 once they settle', async () => {
    const baseline = resourceBaseline();
    const p = await startProxy({
      providers: [
        demo({ name: 'stubborn', latencyMs: 600, ignoreAbort: true }),
        demo({ name: 'fast' }),
      ],
      routing: { mode: 'parallel', healthCheck: { enabled: false } },
      tasks: { 'fallback_engine/attempt': { graceMs: 50 } },
      server: { watchdog: { leakedTasksThreshold: 1 } },
    });
    proxy = p;
    teardown = async () => {
      p.server.stopAccepting();
      await p.app.close();
      await p.server.close();
      // Everything settled and no resource is left; the one leak was on purpose.
      await expect(expectNoLeaks([p.app], baseline)).rejects.toThrow(
        'leak check failed: 1 task(s) were declared leaked',
      );
    };
    const res = await fetch(`${p.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-model', messages: [{ role: 'user', content: 'race' }] }),
    });
    expect(res.headers.get('x-llm-proxy-provider')).toBe('fast');
    await res.text();

    const leaking = await waitFor('the loser is declared leaked', `${p.url}/healthz`, 503);
    expect(leaking.body).toEqual({
      status: 'leaking',
      loops: [],
      leakedTasks: { running: 1, threshold: 1 },
    });
    expect(await get(`${p.url}/readyz`)).toEqual({ status: 200, body: { status: 'ready' } });

    // The stubborn attempt ends by itself: leaked no longer running, alive again.
    expect(await waitFor('the leaked task settles', `${p.url}/healthz`, 200)).toEqual({
      status: 200,
      body: { status: 'ok' },
    });
    expect(await p.metric('llm_proxy_tasks_leaked_total')).toBe(1);
  });
});
