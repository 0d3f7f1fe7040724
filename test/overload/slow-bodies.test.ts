/**
 * Request bodies still arriving hold no `server.maxInFlight` slot: a request takes one once
 * its body is whole. Bodies being received are bounded apart, per client key
 * (`maxReceivingPerKey`: 429) and in all (`maxReceiving`: 503), so a client dribbling bodies
 * (one byte a second, with a valid key) neither locks everyone out nor takes all the room.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const SLOW_A = 'slow-key-alpha';
const SLOW_B = 'slow-key-bravo';
const SLOW_C = 'slow-key-charlie';
const LEGIT = 'legit-key';
const CHAT = JSON.stringify({ model: 'demo-model', messages: [{ role: 'user', content: 'hi' }] });
/** Spaces sent before the JSON, one every DRIBBLE_MS: far longer than the test runs. */
const PAD = 2_000;
const DRIBBLE_MS = 50;

let proxy: RunningProxy | undefined;
const uploads: Upload[] = [];
afterEach(async () => {
  for (const u of uploads.splice(0)) u.stop();
  await proxy?.stop();
  proxy = undefined;
});

interface Upload {
  readonly socket: Socket;
  /** What the proxy answered so far. */
  received(): string;
  /** Sends the rest of the body at once. */
  finish(): void;
  /** Stops dribbling and hangs up. */
  stop(): void;
}

/** A chat request whose body (leading spaces, then the JSON) arrives a byte at a time. */
async function slowUpload(p: RunningProxy, key: string): Promise<Upload> {
  const socket = connect(p.server.port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${PAD + CHAT.length}\r\n\r\n `,
  );
  let sent = 1;
  const timer = setInterval(() => {
    if (sent < PAD - 1 && socket.writable) {
      socket.write(' ');
      sent++;
    }
  }, DRIBBLE_MS);
  const upload: Upload = {
    socket,
    received: () => text,
    finish: () => {
      clearInterval(timer);
      socket.write(' '.repeat(PAD - sent) + CHAT);
    },
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
  uploads.push(upload);
  return upload;
}

const status = (answer: string): number => Number(answer.slice(9, 12));
const errorOf = (answer: string): Record<string, unknown> =>
  (JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: Record<string, unknown> })
    .error;

async function answered(u: Upload): Promise<string> {
  await vi.waitFor(() => expect(u.received()).toMatch(/\r\n\r\n\{.*\}$/s), { timeout: 5_000 });
  return u.received();
}

async function chat(p: RunningProxy, key = LEGIT): Promise<number> {
  const res = await fetch(`${p.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: CHAT,
  });
  await res.arrayBuffer();
  return res.status;
}

const requestTasks = (p: RunningProxy): number =>
  p.app.supervisor.snapshot().filter((t) => t.owner === 'http' && t.task === 'request').length;

/** Every upload was taken in by the proxy: being received (a task), or answered already. */
async function allSeen(p: RunningProxy, started: readonly Upload[]): Promise<void> {
  await vi.waitFor(
    () => {
      const answeredNow = started.filter((u) => u.received() !== '').length;
      expect(requestTasks(p) + answeredNow).toBe(started.length);
    },
    { timeout: 5_000, interval: 20 },
  );
}

describe('slow request bodies', () => {
  it('hold no maxInFlight slot: other clients are served while more bodies than slots dribble in', async () => {
    proxy = await startProxy({
      auth: { apiKeys: [SLOW_A, SLOW_B, SLOW_C, LEGIT] },
      server: { maxInFlight: 8, maxReceiving: 16, maxReceivingPerKey: 6, receiveTimeoutMs: 60_000 },
      providers: [{ name: 'demo', type: 'demo', models: ['demo-model'], latencyMs: 0 }],
      routing: { healthCheck: { enabled: false } },
      cache: { enabled: false },
    });
    const p = proxy;
    const slow: Upload[] = [];
    for (const key of [SLOW_A, SLOW_B]) {
      for (let i = 0; i < 6; i++) slow.push(await slowUpload(p, key));
    }
    await allSeen(p, slow);

    // Twelve bodies arriving, eight slots: every other client is still served, at once.
    const legit = await Promise.all(Array.from({ length: 10 }, () => chat(p)));
    expect(legit).toEqual(Array<number>(10).fill(200));
    expect(slow.map((u) => u.received())).toEqual(Array<string>(12).fill(''));
    expect(requestTasks(p)).toBe(12);
    expect(await p.metric('llm_proxy_inflight_requests')).toBe(0);

    // A body completed takes a slot then, and is served.
    slow[0]!.finish();
    expect(status(await answered(slow[0]!))).toBe(200);
  });

  it('bounds bodies being received per client key (429) and in all (503), and frees the room as they end', async () => {
    proxy = await startProxy({
      auth: { apiKeys: [SLOW_A, SLOW_B, SLOW_C, LEGIT] },
      server: { maxInFlight: 8, maxReceiving: 10, maxReceivingPerKey: 4, receiveTimeoutMs: 60_000 },
      providers: [{ name: 'demo', type: 'demo', models: ['demo-model'], latencyMs: 0 }],
      routing: { healthCheck: { enabled: false } },
      cache: { enabled: false },
    });
    const p = proxy;
    const a = [];
    for (let i = 0; i < 4; i++) a.push(await slowUpload(p, SLOW_A));
    await allSeen(p, a);

    // One more from the same key: refused at once, before its body, telling what to fix.
    const fifth = await slowUpload(p, SLOW_A);
    const perKey = await answered(fifth);
    expect(status(perKey)).toBe(429);
    expect(perKey).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(errorOf(perKey)).toEqual({
      message: expect.stringContaining('server.maxReceivingPerKey: 4') as unknown,
      type: 'rate_limit_error',
      param: null,
      code: 'too_many_uploads',
    });
    expect(await chat(p)).toBe(200); // other keys are not held to A's bound

    // The room in all: 4 + 4 + 2 = 10 bodies arriving; the 11th is refused with a 503.
    const b = [];
    for (let i = 0; i < 4; i++) b.push(await slowUpload(p, SLOW_B));
    for (let i = 0; i < 2; i++) b.push(await slowUpload(p, SLOW_C));
    await allSeen(p, [...a, ...b]);
    const eleventh = await slowUpload(p, SLOW_C);
    const total = await answered(eleventh);
    expect(status(total)).toBe(503);
    expect(total).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(errorOf(total)).toEqual({
      message: expect.stringContaining('server.maxReceiving: 10') as unknown,
      type: 'overloaded_error',
      param: null,
      code: 'overloaded',
    });
    const models = await fetch(`${p.url}/v1/models`, {
      headers: { authorization: `Bearer ${LEGIT}` },
    });
    expect(models.status).toBe(200); // a request without a body needs no room to arrive in
    await models.arrayBuffer();
    expect(await p.metric('llm_proxy_requests_shed_total', { reason: 'rate_limit' })).toBe(1);
    expect(await p.metric('llm_proxy_requests_shed_total', { reason: 'overload' })).toBe(1);

    // Bodies that end, completed or abandoned, give their room back (to their key too).
    a[0]!.finish();
    expect(status(await answered(a[0]!))).toBe(200);
    for (const u of a.slice(1)) u.stop();
    await vi.waitFor(() => expect(requestTasks(p)).toBe(6), { timeout: 5_000, interval: 20 });
    expect(await chat(p)).toBe(200);
    const again = await slowUpload(p, SLOW_A);
    await allSeen(p, [...b, again]);
    again.finish();
    expect(status(await answered(again))).toBe(200);
  });
});
