import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toUpstreamError, UpstreamError } from '../upstream/index.js';
import { clientErrorOf, UpstreamClient } from './http-client.js';
import { createScrubber } from './scrub.js';

type Route = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server | undefined;
let client: UpstreamClient | undefined;

/** An upstream that starts an SSE answer and never ends it; `closed` turns true when its socket does. */
async function openStream(): Promise<{ c: UpstreamClient; closed: { value: boolean } }> {
  const closed = { value: false };
  const c = await upstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {}\n\n');
    res.on('close', () => (closed.value = true));
  });
  return { c, closed };
}

async function upstream(route: Route, maxAnswerBytes?: number): Promise<UpstreamClient> {
  server = createServer(route);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  client = new UpstreamClient({
    baseUrl: `http://127.0.0.1:${port}/v1`,
    headers: { authorization: 'Bearer sk-secret-key-123' },
    connections: 2,
    timeoutMs: 5_000,
    ...(maxAnswerBytes === undefined ? {} : { maxAnswerBytes }),
  });
  return client;
}

afterEach(async () => {
  await client?.close();
  server?.closeAllConnections();
  server?.close();
  client = undefined;
  server = undefined;
});

const live = (): AbortSignal => new AbortController().signal;

describe('UpstreamClient', () => {
  it('refuses a 2xx answer larger than its limit, and closes the socket, not buffering it', async () => {
    let closed = false;
    const c = await upstream((_req, res) => {
      res.on('close', () => (closed = true));
      res.writeHead(200, { 'content-type': 'application/json' });
      // Far past the limit, written with backpressure as a real upstream would.
      let left = 4_000;
      const more = (): void => {
        while (left-- > 0) if (!res.write('x'.repeat(1024))) return void res.once('drain', more);
        res.end();
      };
      more();
    }, 64 * 1024);
    await expect(c.json({ method: 'GET', path: '/models', signal: live() })).rejects.toMatchObject({
      kind: 'invalid_response',
      message: expect.stringContaining('larger than 65536 bytes') as unknown,
    });
    await expect.poll(() => closed).toBe(true);
  });

  it('returns a JSON body as text, a leading BOM skipped', async () => {
    const c = await upstream((_req, res) => res.end('\uFEFF{"ok":true}'));
    const { text, value } = await c.json({ method: 'GET', path: '/models', signal: live() });
    expect(text).toBe('{"ok":true}');
    expect(value).toEqual({ ok: true });
  });

  it('throws a 4xx with its Retry-After and its error body scrubbed of the key', async () => {
    const c = await upstream((_req, res) =>
      res
        .writeHead(429, { 'retry-after': '2' })
        .end(JSON.stringify({ error: { message: 'slow down sk-secret-key-123' } })),
    );
    const err = await c
      .text({ method: 'GET', path: '/x', signal: live() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 2_000 });
    expect((err as UpstreamError).clientError?.message).toBe('slow down [redacted]');
  });

  it("keeps a 5xx API error's own words (scrubbed), never as a request fault; not an HTML page", async () => {
    let html = false;
    const c = await upstream((_req, res) =>
      html
        ? res
            .writeHead(502, { 'content-type': 'text/html' })
            .end('<html><h1>502 Bad Gateway</h1></html>')
        : res
            .writeHead(503)
            .end(JSON.stringify({ error: { message: 'overloaded, key sk-secret-key-123' } })),
    );
    const fail = (): Promise<unknown> =>
      c.text({ method: 'GET', path: '/x', signal: live() }).catch((e: unknown) => e);
    const json = (await fail()) as UpstreamError;
    expect(json).toMatchObject({ status: 503, requestFault: undefined });
    expect(json.clientError?.message).toBe('overloaded, key [redacted]');
    html = true;
    const page = (await fail()) as UpstreamError;
    expect(page).toMatchObject({ status: 502, clientError: undefined });
  });

  it('reads an oversized error body only up to its bound, then drops the connection', async () => {
    let closed = false;
    const c = await upstream((_req, res) => {
      res.writeHead(400);
      res.write('x'.repeat(64 * 1024));
      res.on('close', () => (closed = true));
      // Never ends: only the bound lets the client answer.
    });
    const err = await c
      .text({ method: 'GET', path: '/x', signal: live() })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'client_error', status: 400 });
    await expect.poll(() => closed).toBe(true);
  });

  it('delivers a large stream whole and in order to a slow reader', async () => {
    const c = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 64; i++) res.write(Buffer.alloc(16 * 1024, i % 251));
      res.end();
    });
    const body = await c.stream({ method: 'POST', path: '/x', body: '{}', signal: live() });
    const got: Buffer[] = [];
    for (;;) {
      await new Promise((r) => setTimeout(r, 1));
      const next = await body.next();
      if (next.done === true) break;
      got.push(next.value);
    }
    const all = Buffer.concat(got);
    expect(all.length).toBe(64 * 16 * 1024);
    for (let i = 0; i < 64; i++) expect(all[i * 16 * 1024]).toBe(i % 251);
  });

  it('closes the upstream socket at once when the signal aborts mid-stream', async () => {
    const { c, closed } = await openStream();
    const ctl = new AbortController();
    const body = await c.stream({ method: 'POST', path: '/x', body: '{}', signal: ctl.signal });
    expect((await body.next()).done).toBe(false);
    const pending = body.next();
    ctl.abort(new Error('gone'));
    const err = await pending.catch((e: unknown) => e);
    expect(toUpstreamError(err, ctl.signal).kind).toBe('cancelled');
    await expect.poll(() => closed.value).toBe(true);
  });

  it('drops the upstream connection when a stream is closed before its end', async () => {
    const { c, closed } = await openStream();
    const body = await c.stream({ method: 'POST', path: '/x', body: '{}', signal: live() });
    body.close();
    body.close();
    await expect(body.next()).rejects.toThrow();
    await expect.poll(() => closed.value).toBe(true);
  });

  it('fails at once, without sending, when the signal is already aborted', async () => {
    let requests = 0;
    const c = await upstream((_req, res) => {
      requests++;
      res.end('{}');
    });
    const ctl = new AbortController();
    ctl.abort(new Error('gone'));
    const err = await c
      .text({ method: 'GET', path: '/x', signal: ctl.signal })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'cancelled' });
    expect(requests).toBe(0);
  });
});

describe('clientErrorOf', () => {
  const asIs = (text: string): string => text;
  const decode = (text: string): unknown => ({ error: clientErrorOf(text, asIs) });
  const shaped = (
    message: string,
    type = 'invalid_request_error',
    param: string | null = null,
  ) => ({
    error: { message, type, param, code: null },
  });

  it('keeps OpenAI and Anthropic errors: message, type, param and a string code', () => {
    expect(
      decode(
        '{"error":{"message":"bad temperature","type":"invalid_request_error","param":"temperature","code":"bad_value","extra":1}}',
      ),
    ).toEqual({
      error: {
        message: 'bad temperature',
        type: 'invalid_request_error',
        param: 'temperature',
        code: 'bad_value',
      },
    });
    expect(
      decode(
        '{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too big"}}',
      ),
    ).toEqual(shaped('max_tokens: too big'));
    // llama.cpp sends a numeric code: dropped, not passed as a number.
    expect(
      decode('{"error":{"code":400,"message":"n_ctx exceeded","type":"invalid_request_error"}}'),
    ).toEqual(shaped('n_ctx exceeded'));
  });

  it('re-encodes the shapes of vLLM, FastAPI servers, a bare error string and plain text', () => {
    expect(
      decode(
        '{"object":"error","message":"max_tokens must be at least 1","type":"BadRequestError","param":null,"code":400}',
      ),
    ).toEqual(shaped('max_tokens must be at least 1', 'BadRequestError'));
    expect(decode('{"detail":"Not a valid model"}')).toEqual(shaped('Not a valid model'));
    expect(decode('{"detail":[{"loc":["body","messages"],"msg":"field required"}]}')).toEqual(
      shaped('[{"loc":["body","messages"],"msg":"field required"}]'),
    );
    expect(decode('{"error":"model is required"}')).toEqual(shaped('model is required'));
    expect(decode('  Bad Request: prompt too long\n')).toEqual(
      shaped('Bad Request: prompt too long'),
    );
  });

  it('scrubs message, type, param and code once decoded, and cuts the message after', () => {
    const key = 'sk-a/b+KEYCORE123';
    const scrub = createScrubber([key]);
    const escaped = key.replace('/', '\\/');
    const body = `{"error":{"message":"${'x'.repeat(1_995)}${escaped}","type":"${escaped}","param":"${escaped}","code":"\\u0073${key.slice(1)}"}}`;
    const error = clientErrorOf(body, scrub)!;
    expect(JSON.stringify(error)).not.toMatch(/KEYCORE/);
    expect(error.message).toBe(`${'x'.repeat(1_995)}[reda`);
    expect([error.type, error.param, error.code]).toEqual([
      '[redacted]',
      '[redacted]',
      '[redacted]',
    ]);
  });

  it('bounds the message and gives nothing for an empty body', () => {
    expect(clientErrorOf('x'.repeat(10_000), asIs)!.message).toHaveLength(2_000);
    expect(clientErrorOf('', asIs)).toBeUndefined();
    expect(clientErrorOf('   ', asIs)).toBeUndefined();
  });
});
