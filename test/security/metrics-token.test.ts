import { describe, expect, it } from 'vitest';
import { startProxy } from '../support/proxy.js';

const base = {
  auth: { apiKeys: ['mt-proxy-key'], adminToken: 'mt-admin-token' },
  providers: [{ name: 'local', type: 'demo', models: ['demo-model'], latencyMs: 0 }],
  routing: { healthCheck: { enabled: false } },
};

describe('/metrics protection', () => {
  it('serves /metrics to anyone when no metricsToken is configured', async () => {
    const proxy = await startProxy(base);
    try {
      const r = await fetch(`${proxy.url}/metrics`);
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('llm_proxy_tasks_active');
    } finally {
      await proxy.stop();
    }
  });

  it('with metricsToken, answers only its bearer: no other key or token opens it', async () => {
    const proxy = await startProxy({
      ...base,
      auth: { ...base.auth, metricsToken: 'mt-metrics-token' },
    });
    try {
      for (const auth of [
        undefined,
        'Bearer wrong',
        'Bearer mt-proxy-key',
        'Bearer mt-admin-token',
        'mt-metrics-token',
        'Bearer mt-metrics-tokenx',
      ]) {
        const r = await fetch(`${proxy.url}/metrics`, {
          headers: auth === undefined ? {} : { authorization: auth },
        });
        expect(r.status, String(auth)).toBe(401);
        const body = (await r.json()) as { error: Record<string, unknown> };
        expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
        expect(body.error.type).toBe('authentication_error');
        expect(JSON.stringify(body)).not.toContain('mt-metrics-token');
      }
      const ok = await fetch(`${proxy.url}/metrics`, {
        headers: { authorization: 'Bearer mt-metrics-token' },
      });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toContain('text/plain');
      expect(await ok.text()).toContain('llm_proxy_http_requests_total');
      // The refusals are counted like any request.
      expect(
        await proxy.metric('llm_proxy_http_requests_total', { route: '/metrics', status: '401' }),
      ).toBe(6);
    } finally {
      await proxy.stop();
    }
  });
});
