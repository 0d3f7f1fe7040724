import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { exposition, parseExposition, select, wantsOpenMetrics } from './exposition.js';
import { CounterVec, GaugeVec, HistogramVec } from './metric-vec.js';

/** What Prometheus 2.x sends when it scrapes (scrape_protocols default). */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const TRACE = '0af7651916cd43dd8448eb211c80319c';

function promtool(scrape: string): { status: number | null; output: string } {
  const run = spawnSync('/usr/bin/promtool', ['check', 'metrics'], {
    input: scrape,
    encoding: 'utf8',
  });
  if (run.error !== undefined) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** A registry with a counter and a latency histogram, one observation traced, one not. */
function observed(): Registry {
  const registry = new Registry();
  new CounterVec('demo_requests_total', 'Requests.', ['route'], registry)
    .labels({ route: '/v1' })
    .inc(3);
  const h = new HistogramVec('demo_duration_seconds', 'Duration.', ['route'], [0.1, 1], registry);
  h.labels({ route: '/v1' }).observe(0.05);
  h.labels({ route: '/v1' }).observe(0.5, TRACE);
  return registry;
}

describe('content negotiation', () => {
  it('serves OpenMetrics when the scraper prefers it, as Prometheus does by default', () => {
    expect(wantsOpenMetrics(PROMETHEUS_ACCEPT)).toBe(true);
    expect(wantsOpenMetrics('application/openmetrics-text; version=1.0.0')).toBe(true);
  });

  it('serves the text format without an Accept header, for text/plain, */* or a refused OpenMetrics', () => {
    expect(wantsOpenMetrics(undefined)).toBe(false);
    expect(wantsOpenMetrics('*/*')).toBe(false);
    expect(wantsOpenMetrics('text/plain;version=0.0.4')).toBe(false);
    expect(wantsOpenMetrics('application/openmetrics-text;q=0,text/plain')).toBe(false);
    expect(wantsOpenMetrics('application/openmetrics-text;q=0.3,text/plain;q=0.9')).toBe(false);
  });
});

describe('exposition', () => {
  it('keeps the text format free of exemplars and promtool-clean', async () => {
    const { body, contentType } = await exposition(observed(), undefined);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).not.toContain(TRACE);
    expect(promtool(body)).toEqual({ status: 0, output: '' });
  });

  it('puts a traced observation in OpenMetrics as its bucket exemplar, with trace_id', async () => {
    const { body, contentType } = await exposition(observed(), PROMETHEUS_ACCEPT);
    expect(contentType).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expect(body.endsWith('# EOF\n')).toBe(true);
    // The counter family drops `_total`, its sample keeps it.
    expect(body).toContain('# TYPE demo_requests counter');
    expect(body).toContain('demo_requests_total{route="/v1"} 3');
    const buckets = select(parseExposition(body), 'demo_duration_seconds_bucket');
    expect(buckets.map((b) => [b.labels.le, b.value, b.exemplar])).toEqual([
      ['0.1', 1, undefined],
      ['1', 2, { labels: { trace_id: TRACE }, value: 0.5 }],
      ['+Inf', 2, undefined],
    ]);
    // OpenMetrics: `# {labels} value timestamp`, the timestamp in seconds.
    const line = body.split('\n').find((l) => l.includes(TRACE))!;
    const [, at] = /} 0\.5 (\d+(?:\.\d+)?)$/.exec(line)!;
    expect(Math.abs(Number(at) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('leaves the registry as it was: a text scrape after an OpenMetrics one is unchanged', async () => {
    const registry = observed();
    const before = (await exposition(registry, undefined)).body;
    await exposition(registry, PROMETHEUS_ACCEPT);
    expect((await exposition(registry, undefined)).body).toBe(before);
  });

  it("sends a counter whose family would take a gauge's name as `unknown`, its series unchanged", async () => {
    const registry = new Registry();
    new GaugeVec('demo_leaked', 'Leaked now.', [], registry).labels({}).set(1);
    new CounterVec('demo_leaked_total', 'Leaked ever.', [], registry).labels({}).inc(2);
    const { body } = await exposition(registry, PROMETHEUS_ACCEPT);
    expect(body).toContain('# TYPE demo_leaked gauge\ndemo_leaked 1\n');
    expect(body).toContain('# TYPE demo_leaked_total unknown\ndemo_leaked_total 2\n');
  });

  it('drops exemplars on reset', async () => {
    const registry = observed();
    registry.resetMetrics();
    expect((await exposition(registry, PROMETHEUS_ACCEPT)).body).not.toContain('trace_id');
  });
});
