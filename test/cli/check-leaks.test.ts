/**
 * `llm-proxy check-leaks`, the CI gate, run as the built command against a proxy served
 * in this process: 0 when clean, 1 with a table of offending owner/task pairs, 2 when the
 * endpoint can't be read or the arguments are wrong.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';
import { freePort } from '../support/ports.js';
import { ensureBuilt, runCli } from './built-cli.js';

const ADMIN = 'admin-secret';

let proxy: RunningProxy | undefined;
/** Set by tests that leak on purpose: they tear down themselves (stop() asserts no leaks). */
let teardown: (() => Promise<void>) | undefined;

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);
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

const config = (extra: Record<string, unknown> = {}) => ({
  auth: { adminToken: ADMIN },
  providers: [demo()],
  routing: { healthCheck: { enabled: false } },
  ...extra,
});

const chat = (url: string, content: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-model', messages: [{ role: 'user', content }] }),
  });

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 3_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Leak-test teardown: wait for the stubborn adapter to finish by itself, then close. */
function closeAfterStragglers(p: RunningProxy): () => Promise<void> {
  return async () => {
    p.server.stopAccepting();
    await p.app.close();
    await p.server.close();
    await waitUntil(
      'the leaked task settled',
      () => Promise.resolve(p.app.supervisor.liveCount() === 0),
      5_000,
    );
  };
}

describe('check-leaks on a clean proxy', () => {
  it('exits 0 after serving traffic', async () => {
    proxy = await startProxy(config());
    expect((await chat(proxy.url, 'hi')).status).toBe(200);
    const run = await runCli(['check-leaks', '--url', proxy.url]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('OK');
    // Without --drain it only reads: the proxy keeps serving.
    expect(proxy.app.state).toBe('ready');
  });

  it('exits 0 with --drain and --admin-token, and the proxy is drained', async () => {
    proxy = await startProxy(config());
    expect((await chat(proxy.url, 'hi')).status).toBe(200);
    const run = await runCli([
      'check-leaks',
      '--url',
      `${proxy.url}/`,
      '--drain',
      '--admin-token',
      ADMIN,
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('no active tasks after drain');
    expect(proxy.app.state).toBe('stopped');
    expect((await fetch(`${proxy.url}/readyz`)).status).toBe(503);
  });

  it('exits 2 when --drain is refused for want of the admin token', async () => {
    proxy = await startProxy(config());
    const run = await runCli([
      'check-leaks',
      '--url',
      proxy.url,
      '--drain',
      '--admin-token',
      'wrong',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('401');
    expect(proxy.app.state).toBe('ready');
  });

  it('takes the admin token from LLM_PROXY_ADMIN_TOKEN', async () => {
    proxy = await startProxy(config());
    const run = await runCli(['check-leaks', '--url', proxy.url, '--drain'], {
      env: { LLM_PROXY_ADMIN_TOKEN: ADMIN },
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(proxy.app.state).toBe('stopped');
  });

  it('scrapes a proxy with a metrics token: LLM_PROXY_METRICS_TOKEN, else the admin token', async () => {
    proxy = await startProxy(config({ auth: { adminToken: ADMIN, metricsToken: 'scrape-me' } }));
    const url = ['check-leaks', '--url', proxy.url];
    expect((await runCli(url)).code).toBe(2);
    expect((await runCli([...url, '--admin-token', ADMIN])).code).toBe(2);
    expect((await runCli(url, { env: { LLM_PROXY_METRICS_TOKEN: 'scrape-me' } })).code).toBe(0);
    const drained = await runCli([...url, '--drain', '--admin-token', ADMIN], {
      env: { LLM_PROXY_METRICS_TOKEN: 'scrape-me' },
    });
    expect(drained).toMatchObject({ code: 0, stderr: '' });
    expect(proxy.app.state).toBe('stopped');
  });

  it('sends the admin token on the scrape when no metrics token is given', async () => {
    proxy = await startProxy(config({ auth: { adminToken: ADMIN, metricsToken: ADMIN } }));
    expect((await runCli(['check-leaks', '--url', proxy.url, '--admin-token', ADMIN])).code).toBe(
      0,
    );
  });
});

describe('check-leaks after a leak', () => {
  it('exits 1 with a table naming fallback_engine/attempt', async () => {
    const p = await startProxy(
      config({
        providers: [
          demo({ name: 'stubborn', latencyMs: 1_000, ignoreAbort: true }),
          demo({ name: 'fast' }),
        ],
        routing: { mode: 'parallel', healthCheck: { enabled: false } },
        tasks: { 'fallback_engine/attempt': { graceMs: 50 } },
      }),
    );
    proxy = p;
    teardown = closeAfterStragglers(p);
    const res = await chat(p.url, 'race');
    expect(res.headers.get('x-llm-proxy-provider')).toBe('fast');
    await res.text();
    await waitUntil(
      'the loser is declared leaked',
      async () => (await p.metric('llm_proxy_tasks_leaked_total')) === 1,
    );

    const run = await runCli(['check-leaks', '--url', p.url]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('FAILED');
    const rows = run.stdout.split('\n').filter((l) => l.startsWith('fallback_engine/attempt'));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.split(/\s+/)).toEqual(['fallback_engine/attempt', '1', '0']);
    expect(run.stdout).toMatch(/OWNER\/TASK\s+LEAKED_TOTAL\s+ACTIVE/);
  });
});

describe('check-leaks --timeout-ms', () => {
  // The drain deadline (200 ms) ends before the stubborn adapter (1.5 s) does; its grace
  // period (5 s) has not, so it is active but not leaked when /admin/drain answers.
  const slowToSettle = () =>
    config({
      providers: [demo({ latencyMs: 1_500, ignoreAbort: true })],
      server: { port: 0, shutdownDeadlineMs: 200 },
      tasks: {
        'http/request': { graceMs: 5_000 },
        'fallback_engine/attempt': { graceMs: 5_000 },
      },
    });

  it('waits for in-flight tasks to settle after the drain', async () => {
    const p = await startProxy(slowToSettle());
    proxy = p;
    teardown = closeAfterStragglers(p);
    const pending = chat(p.url, 'slow').catch((err: unknown) => err);
    await waitUntil(
      'the request is in flight',
      async () => (await p.metric('llm_proxy_tasks_active', { task: 'attempt' })) === 1,
    );
    const run = await runCli([
      'check-leaks',
      '--url',
      p.url,
      '--drain',
      '--admin-token',
      ADMIN,
      '--timeout-ms',
      '5000',
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(await p.metric('llm_proxy_tasks_leaked_total')).toBe(0);
    await pending;
  });

  it('reports the tasks still active when they outlast it', async () => {
    const p = await startProxy(slowToSettle());
    proxy = p;
    teardown = closeAfterStragglers(p);
    const pending = chat(p.url, 'slow').catch((err: unknown) => err);
    await waitUntil(
      'the request is in flight',
      async () => (await p.metric('llm_proxy_tasks_active', { task: 'attempt' })) === 1,
    );
    const run = await runCli([
      'check-leaks',
      '--url',
      p.url,
      '--drain',
      '--admin-token',
      ADMIN,
      '--timeout-ms',
      '0',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^fallback_engine\/attempt\s+0\s+1\s*$/m);
    await pending;
  });
});

describe('check-leaks exits 2', () => {
  it('when the URL cannot be read (nothing listens on the port)', async () => {
    const port = await freePort();
    const run = await runCli([
      'check-leaks',
      '--url',
      `http://127.0.0.1:${port}`,
      '--timeout-ms',
      '500',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`http://127.0.0.1:${port}/metrics`);
    expect(run.stdout).toBe('');
  });

  it('when /metrics answers with an error status', async () => {
    proxy = await startProxy(config({ auth: { adminToken: ADMIN, metricsToken: 'scrape-me' } }));
    const run = await runCli(['check-leaks', '--url', proxy.url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('HTTP 401');
  });

  it.each([
    ['no --url', ['check-leaks']],
    ['a URL that is not http(s)', ['check-leaks', '--url', 'ftp://127.0.0.1:1']],
    ['an unknown flag', ['check-leaks', '--url', 'http://127.0.0.1:1', '--verbose']],
    [
      'a --timeout-ms that is not a number',
      ['check-leaks', '--url', 'http://127.0.0.1:1', '--timeout-ms', 'soon'],
    ],
  ])('on bad arguments: %s', async (_what, args) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage: llm-proxy check-leaks --url BASE_URL');
  });
});
