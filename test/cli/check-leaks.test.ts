/**
 * `llm-proxy check-leaks`, the CI gate, run as the built command against a proxy served
 * in this process: 0 when clean, 1 with a table of offending owner/task pairs, 2 when the
 * endpoint can't be read, is not an llm-proxy's /metrics, or the arguments are wrong.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkLeaks } from '../../src/cli/check-leaks.js';
import { liveTimers } from '../../src/tasks/timers.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';
import { freePort } from '../support/ports.js';
import { ensureBuilt, runCli } from './built-cli.js';

const ADMIN = 'admin-secret';

let proxy: RunningProxy | undefined;
/** Set by tests that leak on purpose: they tear down themselves (stop() asserts no leaks). */
let teardown: (() => Promise<void>) | undefined;
/** A stand-in that is not an llm-proxy (see serveCanned). */
let canned: Canned | undefined;

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);
afterEach(async () => {
  if (teardown !== undefined) await teardown();
  else await proxy?.stop();
  proxy = undefined;
  teardown = undefined;
  await canned?.close();
  canned = undefined;
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

interface Canned {
  url: string;
  close(): Promise<void>;
}

/**
 * A bare HTTP server, not an llm-proxy: GET /metrics serves `metrics` as it is; POST
 * /admin/drain answers {} at once or, with `drain: 'never'`, never (a drain outlasting any
 * --timeout-ms). close() cuts the connections still open.
 */
async function serveCanned(
  metrics: string,
  drain: 'answers' | 'never' = 'answers',
): Promise<Canned> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics);
    } else if (req.method === 'POST' && req.url === '/admin/drain') {
      if (drain === 'answers') res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Some other service's Prometheus endpoint: healthy, but not one llm_proxy_ series. */
const OTHER_SERVICE = [
  '# HELP http_requests_total Requests served.',
  '# TYPE http_requests_total counter',
  'http_requests_total{code="200"} 1027',
  '# HELP process_cpu_seconds_total Total user and system CPU time.',
  '# TYPE process_cpu_seconds_total counter',
  'process_cpu_seconds_total 3.2',
  '',
].join('\n');

/** One llm-proxy task family, pre-initialised as a real proxy serves it. */
const taskSeries = (
  family: 'llm_proxy_tasks_leaked_total' | 'llm_proxy_tasks_active',
  httpRequests = 0,
): string =>
  [
    `# TYPE ${family} ${family.endsWith('_total') ? 'counter' : 'gauge'}`,
    `${family}{owner="http",task="request"} ${httpRequests}`,
    `${family}{owner="fallback_engine",task="attempt"} 0`,
    '',
  ].join('\n');

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

/**
 * A proxy whose one adapter ignores cancellation and answers after `latencyMs`: a drain
 * (deadline `deadlineMs`) cancels it, and it stays active, not leaked, within its 5 s grace.
 */
// NOTE: seconds, not fractions of one: a CLI run starts a Node process, which on a loaded
// 2-core runner takes seconds, and the request must still be in flight when it scrapes.
const slowToSettle = (latencyMs = 4_000, deadlineMs = 200) =>
  config({
    providers: [demo({ latencyMs, ignoreAbort: true })],
    server: { port: 0, shutdownDeadlineMs: deadlineMs },
    tasks: {
      'http/request': { graceMs: 12_000 },
      'fallback_engine/attempt': { graceMs: 12_000 },
    },
  });

/** A proxy slow to settle (see slowToSettle) with one request in flight; closed after the test. */
async function oneInFlight(
  latencyMs?: number,
  deadlineMs?: number,
): Promise<{ p: RunningProxy; pending: Promise<unknown> }> {
  const p = await startProxy(slowToSettle(latencyMs, deadlineMs));
  proxy = p;
  teardown = closeAfterStragglers(p);
  const pending = chat(p.url, 'slow').catch((err: unknown) => err);
  await waitUntil(
    'the request is in flight',
    async () => (await p.metric('llm_proxy_tasks_active', { task: 'attempt' })) === 1,
  );
  return { p, pending };
}

describe('check-leaks --timeout-ms', () => {
  // The drain deadline (200 ms) ends before the stubborn adapter (4 s) does, its grace
  // period (12 s) does not: it stays active, not leaked, and /admin/drain answers once it has
  // settled. A --timeout-ms shorter than that gives up on the drain and finds it active.

  it('waits for in-flight tasks to settle after the drain', async () => {
    const { p, pending } = await oneInFlight();
    const run = await runCli([
      'check-leaks',
      '--url',
      p.url,
      '--drain',
      '--admin-token',
      ADMIN,
      '--timeout-ms',
      '10000',
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(await p.metric('llm_proxy_tasks_leaked_total')).toBe(0);
    await pending;
  });

  it('reports the tasks still active when they outlast it', async () => {
    const { p, pending } = await oneInFlight();
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

describe('check-leaks --timeout-ms bounds the drain call', () => {
  const drainArgs = (url: string, timeoutMs: number) => [
    'check-leaks',
    '--url',
    url,
    '--drain',
    '--admin-token',
    ADMIN,
    '--timeout-ms',
    String(timeoutMs),
  ];

  it('gives up on a drain that has not answered and reports the tasks still active', async () => {
    canned = await serveCanned(
      taskSeries('llm_proxy_tasks_leaked_total') + taskSeries('llm_proxy_tasks_active', 1),
      'never',
    );
    const started = performance.now();
    const run = await runCli(drainArgs(canned.url, 500), { timeoutMs: 15_000 });
    const elapsedMs = performance.now() - started;
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('POST /admin/drain did not finish within 500 ms');
    expect(run.stdout).toMatch(/^http\/request\s+0\s+1\s*$/m);
    // 500 ms, plus starting node and one scrape: nowhere near the read grace (30 s).
    expect(elapsedMs).toBeLessThan(5_000);
  });

  it('leaves none of its timers running when it returns (run in-process)', async () => {
    canned = await serveCanned(
      taskSeries('llm_proxy_tasks_leaked_total') + taskSeries('llm_proxy_tasks_active', 1),
      'never',
    );
    const before = liveTimers();
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await checkLeaks(drainArgs(canned.url, 300).slice(1), {})).toBe(1);
    } finally {
      stdout.mockRestore();
    }
    expect(liveTimers()).toBe(before);
  });

  it('judges by /metrics when the drain has not answered but nothing is left running', async () => {
    canned = await serveCanned(
      taskSeries('llm_proxy_tasks_leaked_total') + taskSeries('llm_proxy_tasks_active'),
      'never',
    );
    const run = await runCli(drainArgs(canned.url, 300), { timeoutMs: 15_000 });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('POST /admin/drain did not finish within 300 ms');
    expect(run.stdout).toContain('OK, no leaked tasks and no active tasks (drain unfinished)');
  });

  it('does not wait out a proxy drain bounded only by its shutdown deadline', async () => {
    // The drain answers after its deadline (8 s) at the earliest; the adapter, ignoring its
    // cancellation, is still running then, within its grace period (12 s).
    const { p, pending } = await oneInFlight(9_000, 8_000);
    const started = performance.now();
    const run = await runCli(drainArgs(p.url, 300));
    const elapsedMs = performance.now() - started;
    expect(run.code).toBe(1);
    expect(elapsedMs).toBeLessThan(6_500);
    expect(run.stdout).toContain('POST /admin/drain did not finish within 300 ms');
    expect(run.stdout).toMatch(/^fallback_engine\/attempt\s+0\s+1\s*$/m);
    // The proxy carries on draining without the client.
    expect(p.app.state).toBe('draining');
    await pending;
  });
});

describe('check-leaks exits 2 when the URL is not an llm-proxy /metrics', () => {
  it('when /metrics has no llm_proxy_tasks_leaked_total series (another service)', async () => {
    canned = await serveCanned(OTHER_SERVICE);
    const run = await runCli(['check-leaks', '--url', canned.url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `${canned.url}/metrics is not an llm-proxy /metrics: no llm_proxy_tasks_leaked_total series`,
    );
    expect(run.stdout).toBe('');
  });

  it('with --drain, when /metrics has no llm_proxy_tasks_active series', async () => {
    canned = await serveCanned(OTHER_SERVICE + taskSeries('llm_proxy_tasks_leaked_total'));
    // Without --drain the active family is not needed: the same endpoint passes.
    expect((await runCli(['check-leaks', '--url', canned.url])).code).toBe(0);
    const run = await runCli(['check-leaks', '--url', canned.url, '--drain']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is not an llm-proxy /metrics: no llm_proxy_tasks_active series');
    expect(run.stdout).toBe('');
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
