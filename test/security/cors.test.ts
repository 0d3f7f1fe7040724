import { describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const KEY = 'cors-proxy-key';
const APP = 'https://app.example';

function config(origins?: string[]): Record<string, unknown> {
  return {
    auth: { apiKeys: [KEY], adminToken: 'cors-admin' },
    ...(origins === undefined ? {} : { server: { cors: { origins } } }),
    providers: [{ name: 'local', type: 'demo', models: ['demo-model'], latencyMs: 0 }],
    routing: { healthCheck: { enabled: false } },
  };
}

async function withProxy(
  origins: string[] | undefined,
  body: (p: RunningProxy) => Promise<void>,
): Promise<void> {
  const proxy = await startProxy(config(origins));
  try {
    await body(proxy);
  } finally {
    await proxy.stop();
  }
}

const preflight = (proxy: RunningProxy, path: string, origin: string): Promise<Response> =>
  fetch(`${proxy.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, x-stainless-os',
    },
  });

const chat = (
  proxy: RunningProxy,
  origin: string,
  extra: Record<string, unknown> = {},
): Promise<Response> =>
  fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { origin, authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'demo-model',
      messages: [{ role: 'user', content: 'hi' }],
      ...extra,
    }),
  });

describe('CORS', () => {
  it('is off unless configured: no Access-Control-* header anywhere, preflights are refused', async () => {
    await withProxy(undefined, async (proxy) => {
      const answers = [
        await chat(proxy, APP),
        await fetch(`${proxy.url}/v1/models`, {
          headers: { origin: APP, authorization: `Bearer ${KEY}` },
        }),
        await fetch(`${proxy.url}/v1/models`, { headers: { origin: APP } }),
        await fetch(`${proxy.url}/healthz`, { headers: { origin: APP } }),
      ];
      expect(answers.map((r) => r.status)).toEqual([200, 200, 401, 200]);
      const pre = await preflight(proxy, '/v1/chat/completions', APP);
      expect(pre.status).toBe(405);
      expect(pre.headers.get('allow')).toBe('POST');
      for (const r of [...answers, pre]) {
        await r.arrayBuffer();
        expect([...r.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
      }
    });
  });

  it('answers a preflight from a configured origin with the methods, headers and max-age it needs', async () => {
    await withProxy([APP, 'http://localhost:3000'], async (proxy) => {
      const pre = await preflight(proxy, '/v1/chat/completions', APP);
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe(APP);
      expect(pre.headers.get('access-control-allow-methods')).toBe('GET,POST,OPTIONS');
      expect(pre.headers.get('access-control-allow-headers')).toBe(
        'authorization,content-type,x-stainless-os',
      );
      expect(pre.headers.get('access-control-max-age')).toBe('600');
      expect(pre.headers.get('vary')).toContain('Origin');
      expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
    });
  });

  it('puts the origin on simple requests, streams and errors of the API, and exposes the proxy headers', async () => {
    await withProxy([APP], async (proxy) => {
      const json = await chat(proxy, APP);
      expect(json.status).toBe(200);
      expect(json.headers.get('access-control-allow-origin')).toBe(APP);
      expect(json.headers.get('access-control-expose-headers')).toContain('x-llm-proxy-provider');
      expect(json.headers.get('vary')).toBe('Origin');
      expect(json.headers.get('x-llm-proxy-provider')).toBe('local');
      await json.arrayBuffer();

      const stream = await chat(proxy, APP, { stream: true });
      expect(stream.headers.get('content-type')).toContain('text/event-stream');
      expect(stream.headers.get('access-control-allow-origin')).toBe(APP);
      expect(await stream.text()).toContain('data: [DONE]');

      const refused = await fetch(`${proxy.url}/v1/models`, { headers: { origin: APP } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
      await refused.arrayBuffer();
    });
  });

  it('gives other origins, and the ops and admin routes, no CORS headers at all', async () => {
    await withProxy([APP], async (proxy) => {
      const evil = await chat(proxy, 'https://evil.example');
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
      await evil.arrayBuffer();
      const evilPre = await preflight(proxy, '/v1/chat/completions', 'https://evil.example');
      expect(evilPre.headers.get('access-control-allow-origin')).toBeNull();
      for (const path of ['/healthz', '/metrics', '/admin/tasks']) {
        const r = await fetch(`${proxy.url}${path}`, {
          headers: { origin: APP, authorization: 'Bearer cors-admin' },
        });
        await r.arrayBuffer();
        expect(r.headers.get('access-control-allow-origin'), path).toBeNull();
      }
      const adminPre = await preflight(proxy, '/admin/drain', APP);
      expect(adminPre.status).toBe(405);
      expect(adminPre.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  it("with '*' allows any origin and does not vary on it", async () => {
    await withProxy(['*'], async (proxy) => {
      const r = await chat(proxy, 'https://anywhere.example');
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      expect(r.headers.get('vary')).toBeNull();
      await r.arrayBuffer();
    });
  });
});
