import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './index.js';

let up: FakeUpstream;
let lines: string[];

beforeEach(async () => {
  lines = [];
  up = await startFakeUpstream({ name: 'ev', streamChunks: 5, log: (line) => lines.push(line) });
});
afterEach(() => up.close());

const CHAT = { model: 'm', messages: [{ role: 'user', content: 'one two three' }] };

function chat(body: object, init: RequestInit = {}): Promise<Response> {
  return fetch(`${up.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-secret' },
    body: JSON.stringify(body),
    ...init,
  });
}

/** A hanging-capable request on its own socket (no pool), settled when that socket closes. */
function rawChat(): { closed: Promise<string> } {
  const closed = new Promise<string>((resolve) => {
    const req = request(`${up.url}/v1/chat/completions`, { method: 'POST', agent: false });
    req.on('response', (res) => res.resume());
    req.on('error', (err: NodeJS.ErrnoException) =>
      req.once('close', () => resolve(err.code ?? '')),
    );
    req.end(JSON.stringify(CHAT));
  });
  return { closed };
}

describe('events and log lines', () => {
  it('records a request event and then a complete event carrying the chunk count', async () => {
    await (await chat({ ...CHAT, stream: true })).text();
    const done = await up.waitFor((e) => e.kind === 'complete');
    expect(up.events.map((e) => [e.kind, e.id, e.stream, e.chunksSent])).toEqual([
      ['request', 1, true, 0],
      ['complete', 1, true, 5],
    ]);
    expect(done).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(done.at).toBeGreaterThanOrEqual(up.events[0]?.at ?? Infinity);
  });

  it('logs one line per request, naming the upstream, and none for completions', async () => {
    await (await chat(CHAT)).text();
    await (await fetch(`${up.url}/v1/models?limit=5`)).text();
    await up.waitFor((e) => e.kind === 'complete' && e.id === 2);
    expect(lines).toEqual([
      'fake-upstream ev request #1 POST /v1/chat/completions stream=false',
      'fake-upstream ev request #2 GET /v1/models stream=false',
    ]);
  });

  it('records a disconnect when the client aborts mid-stream', async () => {
    up.set({ chunkDelayMs: 100 });
    const aborter = new AbortController();
    const res = await chat({ ...CHAT, stream: true }, { signal: aborter.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let seen = '';
    while (!seen.includes('"content":"e')) {
      const { value } = await reader.read();
      seen += new TextDecoder().decode(value);
    }
    aborter.abort();
    const gone = await up.waitFor((e) => e.kind === 'disconnect');
    expect(gone.id).toBe(1);
    expect(gone.chunksSent).toBeGreaterThanOrEqual(1);
    expect(gone.chunksSent).toBeLessThan(5);
    expect(lines.at(-1)).toBe(
      `fake-upstream ev disconnect #1 POST /v1/chat/completions stream=true chunks=${gone.chunksSent}`,
    );
    // The stream stopped: no more chunks are written and it never completes.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(up.events.filter((e) => e.id === 1).map((e) => e.kind)).toEqual([
      'request',
      'disconnect',
    ]);
  });

  it('records a disconnect when the client aborts during the latency wait', async () => {
    up.set({ latencyMs: 10_000 });
    const aborter = new AbortController();
    const pending = chat(CHAT, { signal: aborter.signal });
    const asked = await up.waitFor((e) => e.kind === 'request');
    aborter.abort();
    await expect(pending).rejects.toThrow(/abort/i);
    const gone = await up.waitFor((e) => e.kind === 'disconnect', 2_000);
    expect(gone).toMatchObject({ id: asked.id, chunksSent: 0, stream: false });
  });

  it('records a disconnect when a client stops waiting on a hanging request', async () => {
    up.set({ behaviour: 'hang' });
    await expect(chat(CHAT, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    await expect(up.waitFor((e) => e.kind === 'disconnect')).resolves.toMatchObject({ id: 1 });
  });

  it('counts a deliberate reset as complete, not as a client disconnect', async () => {
    up.set({ behaviour: 'reset' });
    await expect(chat(CHAT)).rejects.toThrow();
    await expect(up.waitFor((e) => e.kind === 'complete')).resolves.toMatchObject({ id: 1 });
    expect(up.events.some((e) => e.kind === 'disconnect')).toBe(false);
  });
});

describe('waitFor', () => {
  it('resolves with a past event at once', async () => {
    await (await chat(CHAT)).text();
    await expect(up.waitFor((e) => e.kind === 'request', 1)).resolves.toMatchObject({ id: 1 });
  });

  it('rejects when no matching event comes in time', async () => {
    await expect(up.waitFor((e) => e.kind === 'disconnect', 30)).rejects.toThrow(/30 ms/);
  });

  it('rejects pending waits when the upstream closes', async () => {
    const waiting = expect(up.waitFor(() => false, 60_000)).rejects.toThrow(/closed/);
    await up.close();
    await waiting;
  });
});

describe('inspection and knobs', () => {
  it('keeps the last request path, headers and parsed body, and counts requests', async () => {
    await (await chat({ ...CHAT, temperature: 0 })).text();
    await (await chat(CHAT)).text();
    const last = up.lastRequest();
    expect(last?.path).toBe('/v1/chat/completions');
    expect(last?.headers['authorization']).toBe('Bearer sk-secret');
    expect(last?.body).toEqual(CHAT);
    expect(up.requests).toBe(2);
  });

  it('changes knobs at runtime with set()', async () => {
    up.set({ streamChunks: 2 });
    await (await chat({ ...CHAT, stream: true })).text();
    expect((await up.waitFor((e) => e.kind === 'complete')).chunksSent).toBe(2);
    up.set({ behaviour: 'fail' });
    expect((await chat(CHAT)).status).toBe(500);
  });
});

/** The resource types `now` holds more of than `before` did, each once per extra resource. */
function surplus(now: readonly string[], before: readonly string[]): string[] {
  const left = [...before];
  return now.filter((type) => {
    const i = left.indexOf(type);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

describe('close()', () => {
  it('drops open connections and leaves no active handles behind', async () => {
    await up.close();
    const before = process.getActiveResourcesInfo().sort();
    up = await startFakeUpstream({ behaviour: 'hang', latencyMs: 5 });
    const hanging = [rawChat(), rawChat()];
    await up.waitFor((e) => e.kind === 'request' && e.id === 2);
    const started = performance.now();
    await up.close();
    expect(performance.now() - started).toBeLessThan(500);
    const clientSaw = await Promise.all(hanging.map((h) => h.closed));
    expect(clientSaw).toEqual(['ECONNRESET', 'ECONNRESET']);
    // Nothing of the server's is left: no resource type has more live now than before. (A
    // timer pending at `before` may have fired since: fewer is fine, more would be a leak.)
    expect(surplus(process.getActiveResourcesInfo(), before)).toEqual([]);
  });

  it('stops listening and can be called twice', async () => {
    const { url } = up;
    await Promise.all([up.close(), up.close()]);
    await expect(fetch(`${url}/v1/models`)).rejects.toThrow(TypeError);
  });
});
