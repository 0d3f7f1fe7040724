/**
 * What matches no route, over real HTTP: the 404 names every API route the proxy mounts; a
 * known path asked with another method (parameterised ones too) is a 405 with Allow; under
 * /v1/messages both come in Anthropic's error shape, which its SDK reads as typed exceptions.
 */
import Anthropic, { APIError, NotFoundError } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

let proxy: RunningProxy;
beforeAll(async () => {
  proxy = await startProxy({
    providers: [{ name: 'demo', type: 'demo', models: ['demo-model'] }],
    routing: { healthCheck: { enabled: false } },
  });
});
afterAll(() => proxy.stop());

async function ask(
  method: string,
  path: string,
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(`${proxy.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(method === 'GET' ? {} : { body: '{}' }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as never };
}

/** `:id`, `:id{.+}` as the message writes them: `{id}`. */
const spelled = (pattern: string) => pattern.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}');

describe('an unknown route', () => {
  it('is a 404 in OpenAI shape that names every API route mounted, with its methods', async () => {
    const { status, body } = await ask('GET', '/v1/nope');
    expect(status).toBe(404);
    const error = body.error as { code: string; message: string };
    expect(error.code).toBe('unknown_route');
    const api = proxy.app.hono.routes.filter(
      (r) => r.path.startsWith('/v1/') && r.method !== 'ALL',
    );
    expect(api.length).toBeGreaterThanOrEqual(10);
    for (const route of api) {
      const path = spelled(route.path);
      expect(error.message, `${route.method} ${path}`).toMatch(
        new RegExp(`${route.method}( and [A-Z]+)? ${path.replace(/[{}]/g, '\\$&')}(,| |$)`),
      );
    }
  });

  it("is a 404 in Anthropic's shape under /v1/messages, a NotFoundError to its SDK", async () => {
    const { status, headers, body } = await ask('POST', '/v1/messages/x');
    expect(status).toBe(404);
    expect(body).toEqual({
      type: 'error',
      error: {
        type: 'not_found_error',
        message: expect.stringContaining("'/v1/messages/x'") as unknown,
      },
    });
    // The Anthropic SDK reads its request id from `request-id`.
    expect(headers.get('request-id')).toBe(headers.get('x-request-id'));
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    const err: unknown = await client.post('/v1/messages/batches/x/nope', { body: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).error).toMatchObject({ error: { type: 'not_found_error' } });
  });

  it('stays in OpenAI shape beside /v1/messages', async () => {
    const { status, body } = await ask('POST', '/v1/messagesx');
    expect(status).toBe(404);
    expect(body).toMatchObject({ error: { code: 'unknown_route', type: 'not_found_error' } });
  });
});

describe('a known path asked with another method', () => {
  it("is a 405 with Allow in Anthropic's shape on the Messages API's routes", async () => {
    for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
      const { status, headers, body } = await ask('GET', path);
      expect(status, path).toBe(405);
      expect(headers.get('allow')).toBe('POST');
      expect(body).toEqual({
        type: 'error',
        error: {
          type: 'invalid_request_error',
          message: expect.stringContaining('use POST') as unknown,
        },
      });
    }
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    const err: unknown = await client.get('/v1/messages').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(405);
  });

  it('is a 405 naming the methods of a parameterised route (a stored response)', async () => {
    const post = await ask('POST', '/v1/responses/resp_123');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, DELETE');
    expect(post.body).toMatchObject({ error: { code: 'method_not_allowed' } });
    const items = await ask('DELETE', '/v1/responses/resp_123/input_items');
    expect(items.status).toBe(405);
    expect(items.headers.get('allow')).toBe('GET');
    const model = await ask('DELETE', '/v1/models/org/model');
    expect(model.status).toBe(405);
    expect(model.headers.get('allow')).toBe('GET');
  });

  it("is a 405 in OpenAI's shape on the other new routes", async () => {
    for (const path of ['/v1/responses', '/v1/completions']) {
      const { status, headers, body } = await ask('GET', path);
      expect(status, path).toBe(405);
      expect(headers.get('allow')).toBe('POST');
      expect(body).toMatchObject({ error: { code: 'method_not_allowed' } });
    }
  });

  it("is counted under the route label 'other'", async () => {
    const before = await proxy.metric('llm_proxy_http_requests_total', {
      route: 'other',
      status: '405',
    });
    await ask('PUT', '/v1/messages');
    expect(
      await proxy.metric('llm_proxy_http_requests_total', { route: 'other', status: '405' }),
    ).toBe(before + 1);
  });
});
