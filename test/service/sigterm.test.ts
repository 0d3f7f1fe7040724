/**
 * The built proxy as a real process (`node dist/cli/index.js --config FILE`) and its
 * signal path: SIGTERM/SIGINT turn readiness to 503 and refuse new proxy requests at once,
 * finish what started, close the listener, log a summary and exit 0 (1 when a task leaked,
 * including one still ignoring its cancellation when the deadline runs out); a second
 * signal forces exit 1; a bad config never gets as far as listening.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { parseExposition, sum } from '../../src/telemetry/exposition.js';
import { CLI, cleanEnv, ensureBuilt, ROOT } from '../cli/built-cli.js';
import { freePort } from '../support/ports.js';

type LogLine = Record<string, unknown>;

interface ProxyProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logs: LogLine[];
  stderr(): string;
  waitForLog(msg: string, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

let dir: string;
let upstream: FakeUpstream;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmp-sigterm-'));
  // JSON answers take 300 ms; streams 300 ms to the first chunk, then 6 chunks 150 ms apart.
  upstream = await startFakeUpstream({
    name: 'up',
    latencyMs: 300,
    chunkDelayMs: 150,
    streamChunks: 6,
  });
  await ensureBuilt();
}, 120_000);
afterAll(async () => {
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  // A failed test must not leave a proxy running.
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

let configs = 0;
function writeConfig(config: Record<string, unknown>): string {
  const file = join(dir, `config-${++configs}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

function launch(file: string): {
  child: ChildProcess;
  logs: LogLine[];
  stderr: () => string;
  exited: Promise<number | null>;
  closed: () => boolean;
} {
  const child = spawn(process.execPath, [CLI, '--config', file], {
    cwd: ROOT,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const logs: LogLine[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'close', not 'exit': the last log lines may still be in the pipe when the process exits.
  let closed = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      closed = true;
      resolve(code);
    }),
  );
  return { child, logs, stderr: () => stderr, exited, closed: () => closed };
}

async function startProxyProcess(config: Record<string, unknown>): Promise<ProxyProcess> {
  const port = await freePort();
  const file = writeConfig({
    ...config,
    server: { host: '127.0.0.1', port, ...(config.server as object | undefined) },
    routing: { healthCheck: { enabled: false }, ...(config.routing as object | undefined) },
  });
  const run = launch(file);
  const waitForLog = async (msg: string, timeoutMs = 10_000): Promise<LogLine> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = run.logs.find((l) => l.msg === msg);
      if (found !== undefined) return found;
      if (Date.now() > until || run.closed()) {
        throw new Error(
          `no "${msg}" log line; stdout: ${JSON.stringify(run.logs)}; stderr: ${run.stderr()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const listening = await waitForLog('llm-proxy listening');
  return { ...run, url: listening.url as string, waitForLog };
}

const upstreamProvider = () => ({
  name: 'up',
  type: 'openai',
  baseUrl: `${upstream.url}/v1`,
  models: ['gpt-4o-mini'],
});

const chat = (url: string, content: string, stream: boolean, model = 'gpt-4o-mini') =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content }] }),
  });

async function answerText(res: Promise<Response>): Promise<string> {
  const r = await res;
  expect(r.status).toBe(200);
  return ((await r.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message
    .content;
}

async function streamText(res: Promise<Response>): Promise<string> {
  const r = await res;
  expect(r.status).toBe(200);
  const sse = await r.text();
  expect(sse.trimEnd().endsWith('data: [DONE]')).toBe(true);
  let text = '';
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    text +=
      (JSON.parse(line.slice(6)) as { choices: { delta?: { content?: string } }[] }).choices[0]
        ?.delta?.content ?? '';
  }
  return text;
}

/** Opens (and closes) a fresh TCP connection: 'connected' or the error code. */
function connect(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) }, () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 3_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function scrape(
  url: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return sum(parseExposition(await (await fetch(`${url}/metrics`)).text()), name, labels);
}

describe.each(['SIGTERM', 'SIGINT'] as const)('on %s', (signal) => {
  it('reports not ready, refuses new requests, finishes those that started, logs a summary and exits 0', async () => {
    const proxy = await startProxyProcess({
      providers: [upstreamProvider()],
      server: { shutdownDeadlineMs: 5_000 },
    });
    const before = upstream.requests;
    const stream = streamText(chat(proxy.url, 'a stream that outlives the signal', true));
    const answers = [1, 2, 3].map((i) => answerText(chat(proxy.url, `json ${i}`, false)));
    await waitUntil('the upstream has all four requests', () => upstream.requests === before + 4);

    let streamDone = false;
    void stream.finally(() => (streamDone = true)).catch(() => undefined);
    const signalledAt = Date.now();
    proxy.child.kill(signal);
    await proxy.waitForLog('shutting down');
    // While the stream still runs: probes see the proxy going away, Prometheus can still
    // scrape, and a new proxy request is refused with an OpenAI-shaped 503 that closes its
    // connection (the SDKs retry it, behind a load balancer on another replica).
    const ready = await fetch(`${proxy.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'draining' });
    // The body is read: an unread one left Node 24's fetch paused when the proxy exited, and
    // its bundled undici then threw an uncatchable assert(!this.paused) (nodejs/undici#5360).
    const scrape = await fetch(`${proxy.url}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('llm_proxy_tasks_active');
    const refused = await chat(proxy.url, 'too late', false);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('connection')).toBe('close');
    const body = (await refused.json()) as { error: { code: string } };
    expect(body.error.code).toBe('draining');
    expect({ streamDone, exitCode: proxy.child.exitCode }).toEqual({
      streamDone: false,
      exitCode: null,
    });

    expect(await stream).toBe('echo: a stream that outlives the signal');
    expect(await Promise.all(answers)).toEqual(['echo: json 1', 'echo: json 2', 'echo: json 3']);
    expect(await proxy.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(5_000);
    // Closed once drained: nothing listens any more.
    expect(await connect(proxy.url)).toBe('ECONNREFUSED');

    expect(await proxy.waitForLog('shutting down')).toMatchObject({ signal });
    // Every task cancelled during the drain is counted, by reason: the memory cache closes its
    // cleanup and monitor loops (scope_closed); health checks are off, the requests finished.
    expect(await proxy.waitForLog('shutdown complete')).toMatchObject({
      exitCode: 0,
      leakedTotal: 0,
      activeTasks: 0,
      requestsFinished: true,
      cancelledTasks: 2,
      cancelledByReason: { scope_closed: 2 },
    });
    expect(upstream.events.filter((e) => e.kind === 'disconnect')).toEqual([]);
  });
});

describe('a second signal', () => {
  it('during a long drain forces exit 1 at once', async () => {
    const proxy = await startProxyProcess({
      providers: [{ name: 'slow', type: 'demo', models: ['demo-model'], latencyMs: 10_000 }],
      server: { shutdownDeadlineMs: 20_000 },
    });
    const pending = chat(proxy.url, 'never answered', false, 'demo-model').catch(
      (err: unknown) => err,
    );
    await waitUntil(
      'the request is in flight',
      async () => (await scrape(proxy.url, 'llm_proxy_tasks_active', { task: 'attempt' })) === 1,
    );

    proxy.child.kill('SIGTERM');
    await proxy.waitForLog('shutting down');
    const secondAt = Date.now();
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(1);
    expect(Date.now() - secondAt).toBeLessThan(2_000);
    expect(proxy.logs.map((l) => l.msg)).toContain('second signal: exiting now');
    expect(proxy.logs.map((l) => l.msg)).not.toContain('shutdown complete');
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('a leaked task', () => {
  it('makes the process exit 1 after SIGTERM', async () => {
    const proxy = await startProxyProcess({
      providers: [
        // An adapter that ignores cancellation, racing a fast one: it loses and keeps running.
        {
          name: 'stubborn',
          type: 'demo',
          models: ['demo-model'],
          latencyMs: 3_000,
          ignoreAbort: true,
        },
        { name: 'fast', type: 'demo', models: ['demo-model'], latencyMs: 0 },
      ],
      routing: { mode: 'parallel' },
      tasks: { 'fallback_engine/attempt': { graceMs: 200 } },
      server: { shutdownDeadlineMs: 1_000 },
    });
    const res = await chat(proxy.url, 'race', false, 'demo-model');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-llm-proxy-provider')).toBe('fast');
    await res.body?.cancel();
    await waitUntil(
      'the loser is declared leaked',
      async () =>
        (await scrape(proxy.url, 'llm_proxy_tasks_leaked_total', {
          owner: 'fallback_engine',
          task: 'attempt',
        })) === 1,
    );

    const signalledAt = Date.now();
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(1);
    expect(Date.now() - signalledAt).toBeLessThan(3_000);
    expect(await proxy.waitForLog('shutdown complete')).toMatchObject({
      exitCode: 1,
      leakedTotal: 1,
    });
  });
});

describe('with stdout gone', () => {
  it('still shuts down and exits 0 on SIGTERM', async () => {
    const proxy = await startProxyProcess({ providers: [upstreamProvider()] });
    // The reader of the proxy's stdout went away (a log shipper died, `| head`): EPIPE.
    proxy.child.stdout?.destroy();
    await answerText(chat(proxy.url, 'logged into a closed pipe', false));
    const signalledAt = Date.now();
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(3_000);
  });
});

describe('a request ignoring its cancellation when the deadline runs out', () => {
  it('is declared leaked after its grace period, and the process exits 1', async () => {
    const proxy = await startProxyProcess({
      providers: [
        {
          name: 'stubborn',
          type: 'demo',
          models: ['demo-model'],
          latencyMs: 60_000,
          ignoreAbort: true,
        },
      ],
      tasks: {
        'http/request': { graceMs: 300 },
        'fallback_engine/attempt': { graceMs: 300 },
      },
      server: { shutdownDeadlineMs: 500 },
    });
    const pending = chat(proxy.url, 'never answered', false, 'demo-model').catch(
      (err: unknown) => err,
    );
    await waitUntil(
      'the request is in flight',
      async () => (await scrape(proxy.url, 'llm_proxy_tasks_active', { task: 'attempt' })) === 1,
    );

    const signalledAt = Date.now();
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(1);
    // The deadline, then the grace period: not cut off at the deadline, not left hanging.
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(800);
    expect(Date.now() - signalledAt).toBeLessThan(5_000);
    const leaked = proxy.logs.filter((l) => String(l.msg).startsWith('task leaked'));
    expect(leaked.map((l) => `${String(l.owner)}/${String(l.task)}`)).toContain(
      'fallback_engine/attempt',
    );
    expect(await proxy.waitForLog('shutdown complete')).toMatchObject({
      exitCode: 1,
      requestsFinished: false,
      leakedTotal: leaked.length,
    });
    await pending;
  });
});

describe('start-up failures', () => {
  it('an invalid config exits non-zero before listening, printing every problem with its path', async () => {
    const port = await freePort();
    const file = writeConfig({
      server: { port },
      routing: { mode: 'random' },
      providers: [{ name: 'Bad Name', type: 'demo', models: ['demo-model'] }],
    });
    const run = launch(file);
    const code = await run.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const stderr = run.stderr();
    expect(stderr).toContain('2 problems');
    expect(stderr).toMatch(/^routing\.mode: /m);
    expect(stderr).toMatch(/^providers\[0\]\.name: /m);
    expect(run.logs.map((l) => l.msg)).not.toContain('llm-proxy listening');
  });

  it('a port already in use exits 1 with a one-line reason, not a stack trace', async () => {
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as { port: number }).port;
    try {
      const run = launch(
        writeConfig({
          server: { port },
          providers: [{ name: 'demo', type: 'demo', models: ['m'] }],
        }),
      );
      expect(await run.exited).toBe(1);
      expect(run.stderr()).toBe(`llm-proxy: cannot listen on 127.0.0.1:${port} (EADDRINUSE)\n`);
    } finally {
      await new Promise<void>((r) => squatter.close(() => r()));
    }
  });
});
