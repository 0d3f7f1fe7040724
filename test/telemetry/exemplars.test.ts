/**
 * Exemplars end to end: the real SDK exports spans to a loopback OTLP receiver in this test,
 * and a scrape that asks for OpenMetrics carries, on the request-duration and upstream-duration
 * buckets, the trace ids of spans the receiver got. The default (text) scrape carries none and
 * stays promtool-clean; an unsampled request leaves no exemplar.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { listen, type Listening } from '../../src/http/server.js';
import { armTimer, sleep } from '../../src/tasks/timers.js';
import { parseExposition, type Sample } from '../../src/telemetry/exposition.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

const OPENMETRICS = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';
const UNSAMPLED_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

let receiver: OtlpReceiver;
/** Trace ids of every span the receiver got. */
const traceIds = { has: (id: string) => receiver.spans.some((s) => s.traceId === id) };
let upstream: FakeUpstream;
let tracing: Tracing;
let app: App;
let server: Listening;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  upstream = await startFakeUpstream({ name: 'traced' });
  // The SDK's batch processor reads its delay from process.env itself.
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
  });
  tracing = (await startTracing(process.env, 'test', { armTimer }))!;
  const config = parseConfig(
    {
      server: { port: 0 },
      providers: [
        { name: 'up', type: 'openai', baseUrl: `${upstream.url}/v1`, models: ['gpt-4o-mini'] },
      ],
      routing: { healthCheck: { enabled: false } },
    },
    {},
  );
  app = createApp({ config, tracer: tracing.tracer, logger: createLogger({ level: 'error' }) });
  server = await listen(app, '127.0.0.1', 0);
  app.start();
});

afterAll(async () => {
  server.stopAccepting();
  await app.close();
  await server.close();
  await tracing.shutdown();
  await upstream.close();
  await receiver.close();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
  delete process.env.OTEL_BSP_SCHEDULE_DELAY;
});

async function chat(headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  expect(res.status).toBe(200);
  await res.text();
}

async function scrape(accept?: string): Promise<{ body: string; contentType: string }> {
  const res = await fetch(`${server.url}/metrics`, accept ? { headers: { accept } } : {});
  expect(res.status).toBe(200);
  return { body: await res.text(), contentType: res.headers.get('content-type') ?? '' };
}

/** The trace ids on `name`'s buckets. */
function exemplarTraces(samples: readonly Sample[], name: string): string[] {
  return samples
    .filter((s) => s.name === name && s.exemplar !== undefined)
    .map((s) => s.exemplar!.labels.trace_id ?? '');
}

/** Resolves once the receiver has every id in `ids` (the batch exporter runs every 50 ms). */
async function exported(ids: readonly string[]): Promise<boolean> {
  for (let i = 0; i < 100 && !ids.every((id) => traceIds.has(id)); i++) {
    await sleep(50, new AbortController().signal);
  }
  return ids.every((id) => traceIds.has(id));
}

describe('exemplars', () => {
  it('an unsampled request (traceparent flags 00) leaves no exemplar', async () => {
    await chat({ traceparent: `00-${UNSAMPLED_TRACE}-00f067aa0ba902b7-00` });
    const { body } = await scrape(OPENMETRICS);
    expect(body).not.toContain('# {');
  });

  it('an OpenMetrics scrape carries the trace id of exported spans on both latency histograms', async () => {
    await chat();
    const { body, contentType } = await scrape(OPENMETRICS);
    expect(contentType).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    const samples = parseExposition(body);
    const request = exemplarTraces(samples, 'llm_proxy_http_request_duration_seconds_bucket');
    const upstreamIds = exemplarTraces(samples, 'llm_proxy_upstream_duration_seconds_bucket');
    expect(request).toHaveLength(1);
    expect(request[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(request[0]).not.toBe(UNSAMPLED_TRACE);
    // The upstream call was made within the request's trace.
    expect(upstreamIds).toEqual(request);
    expect(await exported(request)).toBe(true);
    // The exemplar sits on the request's own route and method.
    const bucket = samples.find((s) => s.exemplar?.labels.trace_id === request[0])!;
    expect(bucket.labels).toMatchObject({ route: '/v1/chat/completions', method: 'POST' });
    expect(bucket.exemplar!.value).toBeGreaterThan(0);
    expect(bucket.exemplar!.value).toBeLessThanOrEqual(Number(bucket.labels.le));
  });

  it('the default (text) scrape has no exemplars and passes promtool check metrics', async () => {
    await chat();
    const { body, contentType } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).not.toContain('trace_id');
    const run = spawnSync('/usr/bin/promtool', ['check', 'metrics'], {
      input: body,
      encoding: 'utf8',
    });
    expect({ status: run.status, output: `${run.stdout}${run.stderr}` }).toEqual({
      status: 0,
      output: '',
    });
  });
});
