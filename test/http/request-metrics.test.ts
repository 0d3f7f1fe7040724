/**
 * One way to answer (issue 15): every request, whatever answers it (a proxied route, an ops
 * route, a 404, a 405, a route that throws), is counted once in
 * llm_proxy_http_requests_total{route,method,status} and its duration observed once in
 * llm_proxy_http_request_duration_seconds{route,method}. Real HTTP on loopback.
 */
import { Gauge } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

const config = {
  providers: [{ name: 'demo', type: 'demo', models: ['demo-model'] }],
  routing: { healthCheck: { enabled: false } },
};

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  /** The labels it must be counted under. */
  readonly route: string;
  readonly label: string;
  readonly status: number;
}

const CASES: readonly Case[] = [
  {
    name: 'a proxied chat completion',
    method: 'POST',
    path: '/v1/chat/completions',
    body: JSON.stringify({ model: 'demo-model', messages: [{ role: 'user', content: 'hi' }] }),
    route: '/v1/chat/completions',
    label: 'POST',
    status: 200,
  },
  {
    name: 'a streamed chat completion',
    method: 'POST',
    path: '/v1/chat/completions',
    body: JSON.stringify({
      model: 'demo-model',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    }),
    route: '/v1/chat/completions',
    label: 'POST',
    status: 200,
  },
  {
    name: 'a proxied refusal (unknown model)',
    method: 'GET',
    path: '/v1/models/nope',
    route: '/v1/models',
    label: 'GET',
    status: 404,
  },
  {
    name: 'an ops route',
    method: 'GET',
    path: '/healthz',
    route: '/healthz',
    label: 'GET',
    status: 200,
  },
  {
    name: 'the scrape',
    method: 'GET',
    path: '/metrics',
    route: '/metrics',
    label: 'GET',
    status: 200,
  },
  {
    name: 'an admin refusal',
    method: 'GET',
    path: '/admin/tasks',
    route: '/admin/tasks',
    label: 'GET',
    status: 401,
  },
  { name: 'a 404', method: 'GET', path: '/nope', route: 'other', label: 'GET', status: 404 },
  { name: 'a 405', method: 'POST', path: '/healthz', route: 'other', label: 'POST', status: 405 },
  {
    name: 'a 405 of another method',
    method: 'PUT',
    path: '/v1/models',
    route: 'other',
    label: 'OTHER',
    status: 405,
  },
];

/** The request's count and its duration observations, read from the registry itself. */
async function counted(running: RunningProxy, c: Case): Promise<[number, number]> {
  return [
    await running.metric('llm_proxy_http_requests_total', {
      route: c.route,
      method: c.label,
      status: String(c.status),
    }),
    await running.metric('llm_proxy_http_request_duration_seconds_count', {
      route: c.route,
      method: c.label,
    }),
  ];
}

describe('every answer is counted once, its duration observed once', () => {
  it.each(CASES)('$name: $method $path counts once under $route', async (c) => {
    proxy = await startProxy(config);
    const before = await counted(proxy, c);
    const res = await fetch(`${proxy.url}${c.path}`, {
      method: c.method,
      ...(c.body === undefined
        ? {}
        : { body: c.body, headers: { 'content-type': 'application/json' } }),
    });
    expect(res.status).toBe(c.status);
    await res.arrayBuffer();
    // Proxied requests are counted once their task settled, just after the last byte.
    await expect.poll(() => counted(proxy!, c)).toEqual([before[0] + 1, before[1] + 1]);
    expect(await counted(proxy, c)).toEqual([before[0] + 1, before[1] + 1]);
  });

  it('a route that throws answers an OpenAI-shaped 500 and is counted once under its route', async () => {
    proxy = await startProxy(config);
    const registry = proxy.app.registry;
    const name = 'test_broken_collector';
    new Gauge({
      name,
      help: 'A collector that throws, so the scrape fails.',
      registers: [registry],
      collect() {
        throw new Error('collector broke');
      },
    });
    try {
      const res = await fetch(`${proxy.url}/metrics`);
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe('server_error');
    } finally {
      registry.removeSingleMetric(name);
    }
    const failed = { route: '/metrics', method: 'GET', status: '500' };
    expect(await proxy.metric('llm_proxy_http_requests_total', failed)).toBe(1);
    expect(
      await proxy.metric('llm_proxy_http_request_duration_seconds_count', {
        route: '/metrics',
        method: 'GET',
      }),
    ).toBe(1);
    expect(proxy.logs.some((l) => l.msg === 'unhandled error in a route')).toBe(true);
  });
});
