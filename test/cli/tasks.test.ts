/**
 * `llm-proxy tasks`, the incident view of /admin/tasks, run as the built command against a
 * proxy served in this process: the live tasks as a tree grouped by owner, oldest first, with
 * state, age, cancel reason and leak flag; exit 0 when nothing leaked, 1 when a task leaked,
 * 2 when /admin/tasks can't be read; --watch redraws until interrupted.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tasks } from '../../src/cli/tasks.js';
import { liveTimers } from '../../src/tasks/timers.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';
import { freePort } from '../support/ports.js';
import { CLI, ROOT, cleanEnv, ensureBuilt, runCli, type CliRun } from './built-cli.js';

const ADMIN = 'admin-secret';

let proxy: RunningProxy | undefined;
/** Set by tests that leak on purpose: they tear down themselves (stop() asserts no leaks). */
let teardown: (() => Promise<void>) | undefined;
/** Requests a test leaves in flight: aborted before the proxy stops. */
let inFlight: AbortController | undefined;

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);
afterEach(async () => {
  inFlight?.abort();
  inFlight = undefined;
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

const chat = (url: string, content: string, signal?: AbortSignal) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-model', messages: [{ role: 'user', content }] }),
    ...(signal === undefined ? {} : { signal }),
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

/** The rows of the view as arrays of cells (split on runs of 2+ spaces), header excluded. */
const table = (stdout: string): string[][] =>
  stdout
    .split('\n')
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => l.split(/\s{2,}/));

/** Two requests in flight on a slow demo provider, the first started a little earlier. */
async function twoRequestsInFlight(p: RunningProxy): Promise<void> {
  inFlight = new AbortController();
  const signal = inFlight.signal;
  const attempts = (): Promise<number> =>
    p.metric('llm_proxy_tasks_active', { owner: 'fallback_engine', task: 'attempt' });
  void chat(p.url, 'first', signal).catch(() => undefined);
  await waitUntil('the first request is in flight', async () => (await attempts()) === 1);
  await new Promise((r) => setTimeout(r, 20));
  void chat(p.url, 'second', signal).catch(() => undefined);
  await waitUntil('both requests are in flight', async () => (await attempts()) === 2);
}

/**
 * How long the leaking adapter runs: long enough for the built CLI to start and read the
 * leaked task before it settles, even on a busy machine.
 */
const STUBBORN_MS = 3_000;

/** A proxy whose race loser ignores its cancellation and is declared leaked after 50 ms. */
async function proxyWithALeak(): Promise<RunningProxy> {
  const p = await startProxy(
    config({
      providers: [
        demo({ name: 'stubborn', latencyMs: STUBBORN_MS, ignoreAbort: true }),
        demo({ name: 'fast' }),
      ],
      routing: { mode: 'parallel', healthCheck: { enabled: false } },
      tasks: { 'fallback_engine/attempt': { graceMs: 50 } },
    }),
  );
  proxy = p;
  teardown = async () => {
    p.server.stopAccepting();
    await p.app.close();
    await p.server.close();
    await waitUntil(
      'the leaked task settled',
      () => Promise.resolve(p.app.supervisor.liveCount() === 0),
      STUBBORN_MS + 5_000,
    );
  };
  const res = await chat(p.url, 'race');
  expect(res.headers.get('x-llm-proxy-provider')).toBe('fast');
  await res.text();
  await waitUntil(
    'the loser is declared leaked',
    async () => (await p.metric('llm_proxy_tasks_leaked_total')) === 1,
  );
  return p;
}

describe('llm-proxy tasks', () => {
  it('lists the live tasks as a tree grouped by owner, oldest first, and exits 0', async () => {
    proxy = await startProxy(
      config({
        providers: [demo({ latencyMs: 60_000 })],
        routing: { healthCheck: { enabled: true, intervalMs: 60_000, timeoutMs: 1_000 } },
      }),
    );
    await twoRequestsInFlight(proxy);
    const run = await runCli(['tasks', '--url', proxy.url, '--admin-token', ADMIN]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const [header] = run.stdout.split('\n');
    expect(header).toMatch(
      new RegExp(
        `^llm-proxy tasks at ${proxy.url}: \\d+ live tasks?: \\d+ running, 0 cancelling, 0 leaked$`,
      ),
    );
    const rows = table(run.stdout);
    expect(rows[0]).toEqual(['ID', 'TASK', 'STATE', 'AGE', 'CANCEL', 'LEAK', 'SCOPE']);
    // Owners in name order, each a line of its own followed by its tasks.
    const groups = rows.filter((r) => r.length === 1).map((r) => r[0]);
    expect(groups).toEqual(['health_checker', 'http', 'unified_cache']);
    const http = rows.slice(rows.findIndex((r) => r[0] === 'http') + 1);
    // Each request, oldest first, with its attempt (a task of its own scope) under it.
    expect(http.slice(0, 4).map((r) => r.slice(1, 3).concat(r.slice(4)))).toEqual([
      ['request', 'running', '-', 'root/http'],
      ['└ fallback_engine/attempt', 'running', '-'],
      ['request', 'running', '-', 'root/http'],
      ['└ fallback_engine/attempt', 'running', '-'],
    ]);
    const [first, second] = [http[0]!, http[2]!].map((r) => Number(r[0]!.slice(1)));
    expect(first).toBeLessThan(second!);
    expect(http[0]![3]).toMatch(/^\d+(ms|\.\ds)$/);
  });

  it('exits 1 and flags the leaked task with its state and cancel reason', async () => {
    const p = await proxyWithALeak();
    const run = await runCli(['tasks', '--url', p.url, '--admin-token', ADMIN]);
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')[0]).toMatch(
      /: \d+ live tasks?: \d+ running, 1 cancelling, 1 leaked$/,
    );
    const leaked = table(run.stdout).filter((r) => r.includes('LEAKED'));
    expect(leaked).toHaveLength(1);
    // The request that started it has answered: the loser runs on in its settled scope.
    expect(leaked[0]!.slice(1)).toEqual([
      'attempt',
      'cancelling',
      expect.stringMatching(/\d/) as string,
      'lost_race',
      'LEAKED',
      expect.stringMatching(/^root\/http\/request#\d+$/) as string,
    ]);
    const groups = table(run.stdout).filter((r) => r.length === 1);
    expect(groups).toContainEqual(['fallback_engine']);
  });

  it('takes the admin token from LLM_PROXY_ADMIN_TOKEN', async () => {
    proxy = await startProxy(config());
    const run = await runCli(['tasks', '--url', `${proxy.url}/`], {
      env: { LLM_PROXY_ADMIN_TOKEN: ADMIN },
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('0 cancelling, 0 leaked');
  });
});

describe('llm-proxy tasks exits 2', () => {
  it('when the admin token is missing or wrong, saying to pass --admin-token', async () => {
    proxy = await startProxy(config());
    for (const args of [[], ['--admin-token', 'wrong']]) {
      const run = await runCli(['tasks', '--url', proxy.url, ...args]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('GET /admin/tasks answered HTTP 401');
      expect(run.stderr).toContain('pass --admin-token');
    }
  });

  it('when the proxy has no admin token configured, with its words', async () => {
    proxy = await startProxy({ providers: [demo()], routing: { healthCheck: { enabled: false } } });
    const run = await runCli(['tasks', '--url', proxy.url, '--admin-token', ADMIN]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no auth.adminToken is configured');
  });

  it('when nothing listens at the URL', async () => {
    const port = await freePort();
    const run = await runCli(['tasks', '--url', `http://127.0.0.1:${port}`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `cannot read http://127.0.0.1:${port}/admin/tasks: connect ECONNREFUSED`,
    );
  });

  it('when the URL serves something other than an llm-proxy task list', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"tasks":[{"id":1}]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const run = await runCli(['tasks', '--url', url]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`${url}/admin/tasks is not an llm-proxy task list`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it.each([
    ['no --url', ['tasks']],
    ['a URL that is not http(s)', ['tasks', '--url', 'ftp://127.0.0.1:1']],
    ['an unknown flag', ['tasks', '--url', 'http://127.0.0.1:1', '--verbose']],
    ['an --interval-ms under 100', ['tasks', '--url', 'http://127.0.0.1:1', '--interval-ms', '5']],
  ])('on bad arguments: %s', async (_what, args) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage: llm-proxy tasks --url BASE_URL');
  });
});

/**
 * Runs `llm-proxy tasks --watch ...` until its output holds `frames` frames, then sends it
 * SIGINT and waits for it to exit.
 */
function watchFrames(args: readonly string[], frames: number): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'tasks', '--watch', ...args], {
      cwd: ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!interrupted && stdout.split('\n----\n').length >= frames + 1) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('llm-proxy tasks --watch', () => {
  it('redraws every --interval-ms, frames apart when not a terminal, until SIGINT; exits 0', async () => {
    proxy = await startProxy(config());
    const started = performance.now();
    const run = await watchFrames(
      ['--url', proxy.url, '--admin-token', ADMIN, '--interval-ms', '150'],
      2,
    );
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const frames = run.stdout.split('\n----\n');
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const frame of frames.filter((f) => f.trim() !== '')) {
      expect(frame).toMatch(/^llm-proxy tasks at \S+, \d{4}-\d\d-\d\dT[\d:.]+Z: \d+ live tasks?: /);
    }
    // No terminal: no escape codes.
    expect(run.stdout).not.toContain('\x1b[');
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('clears a terminal before each frame, and leaves no timer behind (run in-process)', async () => {
    // A stand-in serving one task: a proxy in this process would have timers of its own.
    const task = { id: 1, owner: 'health_checker', task: 'loop', state: 'running', ageMs: 5 };
    const body = JSON.stringify({
      tasks: [{ ...task, leaked: false, scope: 'root/health_checker' }],
    });
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const before = liveTimers();
    const frames: string[] = [];
    const stop = new AbortController();
    const terminal = {
      isTTY: true,
      write(text: string): boolean {
        frames.push(text);
        if (frames.length === 2) stop.abort();
        return true;
      },
    };
    try {
      const args = ['--url', url, '--watch', '--interval-ms', '100'];
      expect(await tasks(args, {}, stop.signal, terminal)).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    expect(frames).toHaveLength(2);
    for (const frame of frames) {
      expect(frame.startsWith(`\x1b[H\x1b[2Jllm-proxy tasks at ${url}, `)).toBe(true);
      expect(frame).toContain('1 live task: 1 running, 0 cancelling, 0 leaked');
    }
    expect(liveTimers()).toBe(before);
  });

  it('exits 1 when a frame showed a leaked task', async () => {
    const p = await proxyWithALeak();
    const run = await watchFrames(
      ['--url', p.url, '--admin-token', ADMIN, '--interval-ms', '100'],
      2,
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('LEAKED');
  });

  it('exits 2 at once when the first read is refused', async () => {
    proxy = await startProxy(config());
    const run = await runCli(['tasks', '--watch', '--url', proxy.url, '--interval-ms', '100']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('pass --admin-token');
  });
});
