/**
 * `server.requestTimeoutMs` bounds a proxied request from its first byte in to its last byte
 * out: a request cut off by it gets a 504 (an error event, once a stream has begun), the
 * upstream socket closes, and nothing is left running. A body the client never finishes
 * sending is bounded the same way. Shutdown cutting off a request answers 503, not 500.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const TIMEOUT_MS = 400;
let upstream: FakeUpstream | undefined;
let proxy: RunningProxy | undefined;

afterEach(async () => {
  await proxy?.stop();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

async function setUp(
  upstreamOptions: Parameters<typeof startFakeUpstream>[0],
  server: Record<string, unknown> = {},
): Promise<RunningProxy> {
  upstream = await startFakeUpstream({ name: 'up', ...upstreamOptions });
  proxy = await startProxy({
    server: { requestTimeoutMs: TIMEOUT_MS, ...server },
    routing: { healthCheck: { enabled: false } },
    providers: [
      // The attempt's own timeout is far longer: the request's deadline is what ends it.
      {
        name: 'up',
        type: 'openai',
        baseUrl: `${upstream.url}/v1`,
        models: ['m'],
        timeoutMs: 60_000,
      },
    ],
  });
  return proxy;
}

const chat = (p: RunningProxy, stream: boolean) =>
  fetch(`${p.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] }),
  });

const timedOut = (p: RunningProxy) =>
  p.metric('llm_proxy_tasks_finished_total', {
    owner: 'http',
    task: 'request',
    outcome: 'timed_out',
  });

/**
 * Sends a request declaring a 100-byte body, sends 1 byte of it and stalls. Resolves with what
 * came back once `done` says it is all there, or when the proxy closed the connection.
 */
function stalledBody(
  p: RunningProxy,
  done: (text: string) => boolean = () => false,
): Promise<string> {
  const { port } = new URL(p.url);
  return new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(
        'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100\r\n\r\n{',
      );
    });
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (done(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('server.requestTimeoutMs', () => {
  it('answers a request still waiting on its provider with a 504, and closes the upstream socket', async () => {
    const p = await setUp({ latencyMs: 30_000 });
    const started = performance.now();
    const res = await chat(p, false);
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({
      error: { type: 'timeout_error', code: 'request_timeout' },
    });
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 2_000);
    await upstream!.waitFor((e) => e.kind === 'disconnect');
    expect(await timedOut(p)).toBe(1);
  });

  it('ends a stream that outlasts it with an error event', async () => {
    const p = await setUp({ streamChunks: 1_000, chunkDelayMs: 20 });
    const res = await chat(p, true);
    expect(res.status).toBe(200);
    const sse = await res.text();
    expect(sse).toContain('"content"');
    const last = sse.trimEnd().split('\n\n').at(-1)!;
    expect(JSON.parse(last.replace(/^data: /, ''))).toMatchObject({
      error: { code: 'request_timeout' },
    });
    await upstream!.waitFor((e) => e.kind === 'disconnect');
    expect(await timedOut(p)).toBe(1);
  });

  it('bounds a body the client never finishes sending', async () => {
    const p = await setUp({});
    const answer = await stalledBody(p, (text) => text.includes('}}'));
    expect(answer).toMatch(/^HTTP\/1\.1 504 /);
    expect(answer).toContain('"code":"request_timeout"');
    expect(upstream!.events.filter((e) => e.kind === 'request')).toEqual([]);
    await expect.poll(() => p.metric('llm_proxy_tasks_active', { task: 'request' })).toBe(0);
    expect(await timedOut(p)).toBe(1);
  });
});

describe('server.receiveTimeoutMs', () => {
  it('closes, with a 408, the connection of a client still sending its body', async () => {
    const p = await setUp({}, { requestTimeoutMs: 60_000, receiveTimeoutMs: 300 });
    const started = performance.now();
    const answer = await stalledBody(p);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(performance.now() - started).toBeLessThan(5_000);
    // Its request task ended with the connection: nothing runs, nothing leaked.
    await expect.poll(() => p.metric('llm_proxy_tasks_active', { task: 'request' })).toBe(0);
    expect(await p.metric('llm_proxy_tasks_leaked_total')).toBe(0);
  });
});

describe('shutdown cutting off a request', () => {
  it('answers 503 shutting_down, not an internal error', async () => {
    const p = await setUp(
      { latencyMs: 30_000 },
      { requestTimeoutMs: 60_000, shutdownDeadlineMs: 300 },
    );
    const pending = chat(p, false);
    await upstream!.waitFor((e) => e.kind === 'request');
    const drained = p.app.drain();
    const res = await pending;
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'shutting_down' } });
    await drained;
    expect(p.logs.filter((l) => l.level === 'error')).toEqual([]);
  });
});
