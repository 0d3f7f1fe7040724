/**
 * The Exchange: one per request, one timer, counted once; its answers are the respond.ts
 * writers' (real node:http on loopback, a fresh registry per test).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExposition, sum } from '../telemetry/exposition.js';
import { ProxyMetrics } from '../telemetry/proxy-metrics.js';
import { errors } from './errors.js';
import { Exchange } from './exchange.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** Serves one request with `answer`, on a fresh registry; resolves to the client's view. */
async function serveOnce(answer: (ex: Exchange) => void) {
  const registry = new Registry();
  const metrics = new ProxyMetrics(registry, []);
  server = createServer((req, res) => answer(new Exchange('/healthz', req, res, metrics)));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  const body = await res.text();
  const samples = parseExposition(await registry.metrics());
  const labels = { route: '/healthz', method: 'GET' };
  return {
    res,
    body,
    count: (status: string) => sum(samples, 'llm_proxy_http_requests_total', { ...labels, status }),
    observed: sum(samples, 'llm_proxy_http_request_duration_seconds_count', labels),
    seconds: sum(samples, 'llm_proxy_http_request_duration_seconds_sum', labels),
  };
}

describe('Exchange', () => {
  it('counts its request once, however many ways out call done()', async () => {
    const seen = await serveOnce((ex) => {
      ex.json(200, '{"status":"ok"}');
      ex.done();
      ex.done();
    });
    expect(seen.res.status).toBe(200);
    expect(seen.count('200')).toBe(1);
    expect(seen.observed).toBe(1);
  });

  it('times the request from when the route took it until done()', async () => {
    const seen = await serveOnce((ex) => {
      const until = ex.started + 30;
      while (performance.now() < until); // the route's work, 30 ms of it
      ex.json(200, '{}');
      ex.done();
    });
    expect(seen.seconds).toBeGreaterThanOrEqual(0.03);
    expect(seen.seconds).toBeLessThan(5);
  });

  it('answers JSON with its length, and counts the status written', async () => {
    const seen = await serveOnce((ex) => {
      ex.json(503, '{"status":"draining"}', { 'x-extra': 'yes' });
      ex.done();
    });
    expect(seen.res.status).toBe(503);
    expect(seen.res.headers.get('content-type')).toBe('application/json');
    expect(seen.res.headers.get('content-length')).toBe('21');
    expect(seen.res.headers.get('x-extra')).toBe('yes');
    expect(seen.body).toBe('{"status":"draining"}');
    expect(seen.count('503')).toBe(1);
  });

  it('answers an error in the OpenAI shape, with its own headers', async () => {
    const seen = await serveOnce((ex) => {
      ex.error(errors.methodNotAllowed('PUT', '/healthz', ['GET']));
      ex.done();
    });
    expect(seen.res.status).toBe(405);
    expect(seen.res.headers.get('allow')).toBe('GET');
    expect(seen.res.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(seen.body)).toMatchObject({ error: { code: 'method_not_allowed' } });
    expect(seen.count('405')).toBe(1);
  });

  it('answers text with the content type given (the scrape)', async () => {
    const type = 'text/plain; version=0.0.4; charset=utf-8';
    const seen = await serveOnce((ex) => {
      ex.text(200, 'up 1\n', type);
      ex.done();
    });
    expect(seen.res.headers.get('content-type')).toBe(type);
    expect(seen.res.headers.get('content-length')).toBe('5');
    expect(seen.body).toBe('up 1\n');
  });

  it('ends a started stream with an error event rather than a second head', async () => {
    const seen = await serveOnce((ex) => {
      ex.startStream({});
      void ex.frame('data: {"n":1}\n\n');
      ex.fail(errors.internal());
      ex.done();
    });
    expect(seen.res.status).toBe(200);
    expect(seen.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(seen.body).toMatch(
      /^data: \{"n":1\}\n\ndata: \{"error":\{.*"internal_error".*\}\}\n\n$/,
    );
    expect(seen.count('200')).toBe(1);
  });
});
