/**
 * Tracing end to end with the real SDK and OTLP/HTTP exporter, sending to a loopback
 * receiver in this test that decodes what arrives.
 */
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { listen } from '../../src/http/server.js';
import { armTimer } from '../../src/tasks/timers.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startTracing, tracingEnabled } from '../../src/telemetry/tracing.js';
import { startOtlpReceiver, type OtlpReceiver, type OtlpSpan } from '../support/otlp-receiver.js';

let receiver: OtlpReceiver;
let receiverUrl: string;
let spans: OtlpSpan[] = [];
/** `service.name` of every resource received. */
let services: string[] = [];
let upstream: FakeUpstream;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  ({ spans, services, url: receiverUrl } = receiver);
  upstream = await startFakeUpstream({ name: 'traced' });
});

afterAll(async () => {
  await upstream.close();
  await receiver.close();
});

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
};

describe('tracing', () => {
  it('is off when no OTLP endpoint is configured', async () => {
    expect(tracingEnabled({})).toBe(false);
    expect(await startTracing({}, 'test', { armTimer })).toBeUndefined();
    expect(
      tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' }),
    ).toBe(false);
  });

  it('exports one server span per request (the request task span) with GenAI attributes, attempt task spans as its children, and propagates traceparent upstream', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiverUrl;
    process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
    // The receiver decodes JSON; the default protocol (http/protobuf) is covered below.
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
    const tracing = (await startTracing(process.env, 'test', {
      armTimer,
      serviceName: 'from-config',
    }))!;
    expect(tracing).toBeDefined();
    const logs: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString().split('\n'))
          if (l) logs.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
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
    let traceparent = '';
    let requestId: string | null = null;
    const app = createApp({
      config,
      tracer: tracing.tracer,
      logger: createLogger({ level: 'debug', destination }),
    });
    const server = await listen(app, '127.0.0.1', 0);
    app.start();
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
      const { data: res, request_id } = await client.chat.completions
        .create({
          model: 'gpt-4o-mini',
          temperature: 0.5,
          messages: [{ role: 'user', content: 'trace me' }],
        })
        .withResponse();
      expect(res.choices[0]!.message.content).toBe('echo: trace me');
      requestId = request_id;
      traceparent = String(upstream.lastRequest()?.headers.traceparent ?? '');
      expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

      // A caller's own traceparent becomes the parent of our server span.
      const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
      const withParent = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          traceparent: `00-${callerTrace}-00f067aa0ba902b7-01`,
        },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'again' }],
        }),
      });
      expect(withParent.status).toBe(200);
      await withParent.text();
    } finally {
      server.stopAccepting();
      await app.close();
      await server.close();
      await tracing.shutdown();
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      delete process.env.OTEL_BSP_SCHEDULE_DELAY;
      delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
    }

    const serverSpans = spans.filter((s) => s.name === 'POST /v1/chat/completions');
    expect(serverSpans).toHaveLength(2);
    // telemetry.serviceName names the service when OTEL_SERVICE_NAME is unset.
    expect(new Set(services)).toEqual(new Set(['from-config']));
    const first = serverSpans.find((s) => s.traceId !== '4bf92f3577b34da6a3ce929d0e0e4736')!;
    expect(first.kind).toBe(2); // SERVER
    expect(attr(first, 'gen_ai.operation.name')).toBe('chat');
    expect(attr(first, 'gen_ai.request.model')).toBe('gpt-4o-mini');
    expect(attr(first, 'gen_ai.response.model')).toBe('gpt-4o-mini');
    expect(attr(first, 'gen_ai.system')).toBe('openai');
    expect(Number(attr(first, 'gen_ai.usage.input_tokens'))).toBeGreaterThan(0);
    expect(Number(attr(first, 'http.response.status_code'))).toBe(200);

    // The server span is the http/request task's own span: one span per request.
    expect(attr(first, 'task.owner')).toBe('http');
    expect(attr(first, 'task.name')).toBe('request');
    expect(attr(first, 'task.outcome')).toBe('completed');
    expect(spans.filter((s) => s.name === 'http/request')).toHaveLength(0);
    const attempt = spans.find(
      (s) => s.name === 'fallback_engine/attempt' && s.parentSpanId === first.spanId,
    );
    expect(attempt).toBeDefined();
    expect(attr(attempt!, 'task.outcome')).toBe('completed');
    expect(
      spans.some(
        (s) =>
          s.traceId === '4bf92f3577b34da6a3ce929d0e0e4736' &&
          s.name === 'POST /v1/chat/completions',
      ),
    ).toBe(true);
    // The upstream call carried this request's trace, parented by its attempt span.
    expect(traceparent).toBe(`00-${first.traceId}-${attempt!.spanId}-01`);
    // The SDK's request_id is the trace id: a client's log line leads to the trace.
    expect(requestId).toBe(first.traceId);

    const requestLogs = logs.filter((l) => l.msg === 'request');
    expect(requestLogs.length).toBe(2);
    for (const l of requestLogs) expect(l.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(requestLogs.map((l) => l.trace_id)).toContain(first.traceId);
  });
});
