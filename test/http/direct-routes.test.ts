/**
 * The hot routes (POST chat completions and embeddings) are served straight on the Node
 * request/response pair, ahead of the Hono adapter, when the adapter would hand them to the
 * same route unchanged; anything else about them (a query, a Host the adapter must check by
 * building a URL, another method) goes through Hono, and is answered exactly as before.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const KEY = 'sk-proxy-direct';
const CHAT = JSON.stringify({ model: 'demo-model', messages: [{ role: 'user', content: 'hi' }] });
const BASE = {
  auth: { apiKeys: [KEY] },
  providers: [{ name: 'demo', type: 'demo', models: ['demo-model'] }],
  routing: { healthCheck: { enabled: false } },
};

let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

/** Sends one raw request; resolves with the whole answer (status line, headers, body). */
function raw(p: RunningProxy, requestLine: string, host: string | undefined): Promise<string> {
  const { port } = new URL(p.url);
  const lines = [
    `${requestLine} HTTP/1.1`,
    ...(host === undefined ? [] : [`Host: ${host}`]),
    'Connection: close',
    `Authorization: Bearer ${KEY}`,
    'Content-Type: application/json',
    `Content-Length: ${CHAT.length}`,
    '',
    CHAT,
  ];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(lines.join('\r\n')));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

/** The status and the JSON body of a raw answer. */
function parsed(answer: string): { status: number; body: Record<string, unknown> } {
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1]);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
  return { status, body };
}

describe('direct routes', () => {
  it('are the POST API routes, and none while CORS must run on them', async () => {
    proxy = await startProxy(BASE);
    expect([...proxy.app.direct].map(([path, r]) => `${r.method} ${path}`)).toEqual([
      'POST /v1/chat/completions',
      'POST /v1/embeddings',
    ]);
    await proxy.stop();
    proxy = await startProxy({ ...BASE, server: { cors: { origins: ['https://app.example'] } } });
    expect(proxy.app.direct.size).toBe(0);
  });

  it('answer a completion the same whichever way the request is routed', async () => {
    proxy = await startProxy(BASE);
    const ways: [string, string | undefined][] = [
      ['POST /v1/chat/completions', 'x'], // direct
      ['POST /v1/chat/completions', undefined], // direct: routed as localhost
      ['POST /v1/chat/completions', '127.0.0.1:8080'], // direct
      ['POST /v1/chat/completions?trace=1', 'x'], // Hono: a query
      ['POST /v1/chat/completions', 'x:80'], // Hono: the adapter checks this Host via a URL
      ['POST /v1/chat/completions', 'X.Example'], // Hono: not lower case
    ];
    for (const [line, host] of ways) {
      const { status, body } = parsed(await raw(proxy, line, host));
      expect({ line, host, status, object: body.object }).toEqual({
        line,
        host,
        status: 200,
        object: 'chat.completion',
      });
    }
    const counted = await proxy.metric('llm_proxy_http_requests_total', {
      route: '/v1/chat/completions',
      status: '200',
    });
    expect(counted).toBe(ways.length);
  });

  it('leave a Host the adapter refuses, and other methods, to be answered as before', async () => {
    proxy = await startProxy(BASE);
    const badHost = parsed(await raw(proxy, 'POST /v1/chat/completions', 'exa@mple'));
    expect(badHost.status).toBe(400);
    expect(badHost.body).toMatchObject({ error: { code: 'malformed_http_request' } });
    const get = parsed(await raw(proxy, 'GET /v1/chat/completions', 'x'));
    expect(get.status).toBe(405);
  });
});
