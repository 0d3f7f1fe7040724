/**
 * The request body is read as JSON whatever the Content-Type says (in-process, real loopback
 * HTTP): clients and `curl -d` often omit it or send application/x-www-form-urlencoded, and
 * the contract has no 415. A body that does not parse is a 400 that names the Content-Type
 * when it was not JSON; an oversized one is still refused before it is read.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const KEY = 'ct-proxy-key';
const LIMIT = 4 * 1024;

let proxy: RunningProxy;
beforeAll(async () => {
  proxy = await startProxy({
    auth: { apiKeys: [KEY] },
    server: { bodyLimitBytes: LIMIT },
    providers: [{ name: 'demo', type: 'demo', models: ['demo-model'], latencyMs: 0 }],
    routing: { healthCheck: { enabled: false } },
  });
});
afterAll(async () => {
  await proxy.stop();
});

interface Answer {
  status: number;
  body: string;
}

/**
 * POSTs exactly the headers given (node:http adds no Content-Type, unlike fetch), with a
 * Content-Length unless one is given; `body: undefined` sends the headers alone.
 */
function post(path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${proxy.url}${path}`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${KEY}`,
          'content-length': String(Buffer.byteLength(body ?? '')),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    if (body === undefined) req.flushHeaders();
    else req.end(body);
  });
}

const ROUTES = {
  '/v1/chat/completions': JSON.stringify({
    model: 'demo-model',
    messages: [{ role: 'user', content: 'hi' }],
  }),
  '/v1/embeddings': JSON.stringify({ model: 'demo-model', input: 'hi' }),
};

/** Content-Type headers clients send with a JSON body; `{}` sends none at all. */
const NOT_JSON: readonly Record<string, string>[] = [
  {},
  { 'content-type': 'application/x-www-form-urlencoded' },
  { 'content-type': 'text/plain;charset=utf-8' },
  { 'content-type': 'application/octet-stream' },
];

type OpenAiError = { error: { message: string; type: string; param: unknown; code: string } };

describe('request bodies whatever their Content-Type', () => {
  it('answers a valid JSON body sent with no Content-Type or a non-JSON one', async () => {
    for (const [path, body] of Object.entries(ROUTES)) {
      for (const headers of NOT_JSON) {
        const res = await post(path, headers, body);
        expect([path, headers, res.status]).toEqual([path, headers, 200]);
        expect(JSON.parse(res.body)).toHaveProperty(path === '/v1/embeddings' ? 'data' : 'choices');
      }
    }
  });

  it("answers curl -d '{bad' with a 400 that names the Content-Type to send", async () => {
    for (const path of Object.keys(ROUTES)) {
      const res = await post(path, { 'content-type': 'application/x-www-form-urlencoded' }, '{bad');
      expect([path, res.status]).toEqual([path, 400]);
      const { error } = JSON.parse(res.body) as OpenAiError;
      expect(error).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_json',
        param: null,
      });
      expect(error.message).toMatch(/^We could not parse the JSON body of your request: /);
      expect(error.message).toContain(
        '(Content-Type was application/x-www-form-urlencoded; send application/json)',
      );
    }
  });

  it('says when no Content-Type was sent, and only names it when it was not JSON', async () => {
    const none = JSON.parse(
      (await post('/v1/chat/completions', {}, 'model=demo-model')).body,
    ) as OpenAiError;
    expect(none.error.code).toBe('invalid_json');
    expect(none.error.message).toContain('(no Content-Type was sent; send application/json)');
    // Parameters (a multipart boundary, say) are not echoed back, only the media type.
    const multipart = JSON.parse(
      (await post('/v1/embeddings', { 'content-type': 'multipart/form-data; boundary=zz' }, '--zz'))
        .body,
    ) as OpenAiError;
    expect(multipart.error.message).toContain('(Content-Type was multipart/form-data; send');
    expect(multipart.error.message).not.toContain('boundary');
    const json = await post('/v1/chat/completions', { 'content-type': 'application/json' }, '{');
    expect(json.status).toBe(400);
    expect((JSON.parse(json.body) as OpenAiError).error.message).not.toContain('Content-Type');
  });

  it('still refuses an oversized body by its Content-Length, before reading it', async () => {
    for (const headers of [{}, { 'content-type': 'text/plain' }]) {
      // Headers only: the body is never sent, so an answer proves nothing waited for it.
      const res = await post('/v1/chat/completions', {
        ...headers,
        'content-length': String(LIMIT + 1),
      });
      expect(res.status).toBe(413);
      expect((JSON.parse(res.body) as OpenAiError).error.code).toBe('request_too_large');
    }
  });
});
