/**
 * A body over server.bodyLimitBytes gets its 413 through to clients that read the answer
 * only once their upload is done (fetch/undici, and so the OpenAI SDK): the proxy reads and
 * drops the rest of the body instead of closing under the upload, which reset the
 * connection and lost the answer. That lingering is bounded: in bytes, in time
 * (receiveTimeoutMs), and by shutdown; the request's task ends with the answer.
 *
 * NOTE: the SDK and fetch run in a child process. In one process the client reads the answer
 * on the same event loop before the server's reset lands, and the bug does not show.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { discardAllowance } from '../../src/http/body.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const KEY = 'sk-oversized-key';
const LIMIT = 64 * 1024;
const MiB = 1024 * 1024;

let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

function config(server: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    auth: { apiKeys: [KEY] },
    server: { bodyLimitBytes: LIMIT, ...server },
    providers: [{ name: 'demo', type: 'demo', models: ['demo-model'], latencyMs: 0 }],
    routing: { healthCheck: { enabled: false } },
  };
}

/** Runs ESM `code` in a child node (cwd: the project, so 'openai' resolves); its JSON line. */
async function inChild(code: string, ...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', code, ...args],
    { timeout: 20_000 },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** Three calls, as one can still slip through before the fix: each one's outcome. */
const SDK_CHAT = `
import OpenAI from 'openai';
const [url, key, bytes] = process.argv.slice(1);
const client = new OpenAI({ baseURL: url + '/v1', apiKey: key, maxRetries: 0, timeout: 15000 });
const outcomes = [];
for (let i = 0; i < 3; i++) {
  try {
    await client.chat.completions.create({
      model: 'demo-model',
      messages: [{ role: 'user', content: 'x'.repeat(Number(bytes)) }],
    });
    outcomes.push({ answered: true });
  } catch (e) {
    outcomes.push({
      connectionError: e instanceof OpenAI.APIConnectionError,
      apiError: e instanceof OpenAI.APIError,
      status: e.status ?? null,
      code: e.code ?? null,
      cause: String(e.cause?.cause ?? e.cause ?? ''),
    });
  }
}
console.log(JSON.stringify({ outcomes }));`;

/** fetch (undici) with a streamed body: no Content-Length, so it goes out chunked. */
const FETCH_CHUNKED = `
const [url, key, bytes] = process.argv.slice(1);
const piece = new TextEncoder().encode('x'.repeat(64 * 1024));
let left = Number(bytes);
const body = new ReadableStream({
  pull(c) {
    if (left <= 0) return c.close();
    left -= piece.length;
    c.enqueue(piece);
  },
});
try {
  const res = await fetch(url + '/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
    body,
    duplex: 'half',
  });
  console.log(JSON.stringify({ status: res.status, body: await res.json() }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e), cause: String(e.cause ?? '') }));
}`;

interface Raw {
  socket: Socket;
  received(): string;
  /** performance.now() when the connection closed. */
  closed: Promise<number>;
}

async function rawConnection(p: RunningProxy): Promise<Raw> {
  const socket = connect(Number(new URL(p.url).port), '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  // EPIPE / ECONNRESET once the server cuts an upload off: what these tests provoke.
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(performance.now())),
  );
  return { socket, received: () => text, closed };
}

const head = (framing: string): string =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n` +
  `Content-Type: application/json\r\n${framing}\r\n\r\n`;
const chunk = (n: number): string => `${n.toString(16)}\r\n${'x'.repeat(n)}\r\n`;

async function eventually(done: () => boolean, ms = 5_000): Promise<void> {
  const until = performance.now() + ms;
  while (!done()) {
    if (performance.now() > until) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sends `chunk(64)` every 20 ms while the socket takes it; returns the stop function. */
function trickle(raw: Raw): () => void {
  const timer = setInterval(() => {
    if (raw.socket.writable) raw.socket.write(chunk(64));
  }, 20);
  return () => clearInterval(timer);
}

const refused = (text: string): boolean =>
  text.startsWith('HTTP/1.1 413') && text.includes('"code":"request_too_large"');

describe('a body over the limit', () => {
  it('reaches the OpenAI SDK as a 413 APIError, not a connection error', async () => {
    proxy = await startProxy(config());
    const out = await inChild(SDK_CHAT, proxy.url, KEY, String(5 * MiB));
    const refusal = {
      connectionError: false,
      apiError: true,
      status: 413,
      code: 'request_too_large',
    };
    expect(out).toMatchObject({ outcomes: [refusal, refusal, refusal] });
  });

  it('reaches fetch as a 413 when a chunked upload grows past the limit', async () => {
    proxy = await startProxy(config());
    const out = await inChild(FETCH_CHUNKED, proxy.url, KEY, String(16 * MiB));
    expect(out).toMatchObject({
      status: 413,
      body: { error: { code: 'request_too_large', type: 'invalid_request_error' } },
    });
  });

  it('leaves the connection serving the next request once the whole body was dropped', async () => {
    proxy = await startProxy(config());
    const raw = await rawConnection(proxy);
    raw.socket.write(
      head('Transfer-Encoding: chunked') +
        chunk(LIMIT) +
        chunk(LIMIT) +
        '0\r\n\r\n' +
        `GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n\r\n`,
    );
    await eventually(() => raw.received().includes('"object":"list"'));
    expect(refused(raw.received())).toBe(true);
    expect(raw.received()).toMatch(/\r\n\r\n\{"error".*HTTP\/1\.1 200 OK\r\n/s);
    raw.socket.end();
    await raw.closed;
  });

  it('cuts off a client still trickling its body once receiveTimeoutMs is up', async () => {
    proxy = await startProxy(config({ receiveTimeoutMs: 1_500 }));
    const raw = await rawConnection(proxy);
    const started = performance.now();
    raw.socket.write(head('Transfer-Encoding: chunked') + chunk(LIMIT + 1));
    const stop = trickle(raw);
    try {
      await eventually(() => refused(raw.received()));
      expect(performance.now() - started).toBeLessThan(1_000);
      // The task ended with the answer: the upload holds no in-flight slot.
      const requestTasks = (): number =>
        proxy!.app.supervisor.snapshot().filter((t) => t.owner === 'http' && t.task === 'request')
          .length;
      await eventually(() => requestTasks() === 0, 200);
      expect(await proxy.metric('llm_proxy_inflight_requests')).toBe(0);
      const closedAt = await raw.closed;
      // Not closed under the upload at the answer; closed by the request's time bound
      // (checked once a second), as any request still arriving would be.
      expect(closedAt - started).toBeGreaterThan(1_400);
      expect(closedAt - started).toBeLessThan(1_500 + 1_500);
    } finally {
      stop();
    }
  });

  it('cuts off a client flooding past the discard allowance, long before receiveTimeoutMs', async () => {
    proxy = await startProxy(config());
    const raw = await rawConnection(proxy);
    const started = performance.now();
    raw.socket.write(head(`Content-Length: ${2 ** 40}`));
    const block = Buffer.alloc(MiB, 'x');
    let sent = 0;
    while (!raw.socket.destroyed) {
      sent += block.length;
      if (!raw.socket.write(block)) {
        await Promise.race([new Promise((r) => raw.socket.once('drain', r)), raw.closed]);
      }
    }
    expect(refused(raw.received())).toBe(true);
    expect((await raw.closed) - started).toBeLessThan(10_000);
    // The allowance was dropped, no more than what the socket buffers hold on top.
    const allowance = discardAllowance(LIMIT);
    expect(sent).toBeGreaterThan(allowance);
    expect(sent).toBeLessThan(allowance + 32 * MiB);
  });

  // Python's urllib (and any client that writes its whole body before reading) sends
  // `Connection: close`; Node closed at once after the 413, resetting the upload.
  it('reaches a client that sent Connection: close and writes its whole body before reading', async () => {
    proxy = await startProxy(config());
    const bytes = 6 * MiB;
    for (const framing of [`Content-Length: ${bytes}`, 'Transfer-Encoding: chunked']) {
      const socket = connect(proxy.server.port, '127.0.0.1');
      await once(socket, 'connect');
      let text = '';
      let failure: Error | undefined;
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('error', (err) => (failure = err));
      const ended = new Promise<void>((resolve) => socket.once('end', resolve));
      const closed = new Promise((resolve) => socket.once('close', resolve));
      const chunked = framing.startsWith('Transfer');
      const block = chunked ? Buffer.from(chunk(MiB)) : Buffer.alloc(MiB, 'x');
      socket.write(head(`${framing}\r\nConnection: close`));
      for (let sent = 0; sent < bytes && failure === undefined; sent += MiB) {
        if (!socket.write(block)) {
          await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
        }
      }
      if (chunked && failure === undefined) socket.write('0\r\n\r\n');
      await Promise.race([ended, closed]);
      expect(failure?.message).toBeUndefined();
      expect(refused(text)).toBe(true);
      expect(text).toMatch(/connection: close\r\n/i);
      expect(text).toMatch(/\r\n\r\n\{"error":\{.*"code":"request_too_large"\}\}$/s);
      socket.end();
      await closed;
    }
  });

  it('holds up neither the drain nor stopping the listener', async () => {
    proxy = await startProxy(config());
    const raw = await rawConnection(proxy);
    raw.socket.write(head(`Content-Length: ${LIMIT + 1}`));
    const stop = trickle(raw);
    try {
      await eventually(() => refused(raw.received()));
      // The upload is no task: the drain does not wait for it, nor for receiveTimeoutMs (30 s).
      const summary = await proxy.app.drain();
      expect(summary.durationMs).toBeLessThan(1_000);
      expect(raw.socket.destroyed).toBe(false);
      const stoppedAt = performance.now();
      proxy.server.stopAccepting();
      expect((await raw.closed) - stoppedAt).toBeLessThan(1_000);
    } finally {
      stop();
    }
  });
});
