/**
 * Every answer carries an `x-request-id`, so the official OpenAI SDK's `request_id` is never
 * null: a generated id with tracing off, the trace id with it on, or the client's own sane id
 * echoed. The request's log line carries the same id.
 */
import Anthropic from '@anthropic-ai/sdk';
import { APIError } from 'openai';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const GENERATED = /^req_[0-9a-f]{12}_[0-9a-z]+$/;

const demo = (auth?: object): Record<string, unknown> => ({
  providers: [{ name: 'local', type: 'demo', models: ['demo-model'], latencyMs: 0 }],
  routing: { healthCheck: { enabled: false } },
  ...(auth === undefined ? {} : { auth }),
});
const ask = { model: 'demo-model', messages: [{ role: 'user' as const, content: 'hi' }] };

let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

/** The `request` log lines, once the request's line is written (after its answer). */
async function requestLines(p: RunningProxy, count: number): Promise<Record<string, unknown>[]> {
  await expect
    .poll(() => p.logs.filter((l) => l['msg'] === 'request').length)
    .toBeGreaterThanOrEqual(count);
  return p.logs.filter((l) => l['msg'] === 'request');
}

describe('x-request-id with tracing off', () => {
  it('gives the SDK a distinct request_id per request, and logs it', async () => {
    proxy = await startProxy(demo());
    const first = await proxy.client.chat.completions.create(ask).withResponse();
    const second = await proxy.client.chat.completions.create(ask).withResponse();
    expect(first.request_id).toMatch(GENERATED);
    expect(second.request_id).toMatch(GENERATED);
    expect(second.request_id).not.toBe(first.request_id);
    const lines = await requestLines(proxy, 2);
    expect(lines.map((l) => l['request_id'])).toEqual([first.request_id, second.request_id]);
    expect(lines[0]).not.toHaveProperty('trace_id');
  });

  it('carries it on streams, errors and ops answers too', async () => {
    proxy = await startProxy(demo({ apiKeys: ['sk-proxy-test'] }));
    const stream = await proxy.client.chat.completions
      .create({ ...ask, stream: true })
      .withResponse();
    for await (const chunk of stream.data) expect(chunk.object).toBe('chat.completion.chunk');
    expect(stream.request_id).toMatch(GENERATED);

    const err = await proxy.client.chat.completions
      .create({ ...ask, model: 'no-such-model' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(404);
    expect((err as APIError).requestID).toMatch(GENERATED);

    const unauthorised = await fetch(`${proxy.url}/v1/models`);
    expect(unauthorised.status).toBe(401);
    expect(unauthorised.headers.get('x-request-id')).toMatch(GENERATED);
    const health = await fetch(`${proxy.url}/healthz`);
    expect(health.headers.get('x-request-id')).toMatch(GENERATED);
  });

  it('gives the Anthropic SDK its request-id on the Messages API, errors included', async () => {
    proxy = await startProxy(demo());
    const anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    const ask = {
      model: 'demo-model',
      max_tokens: 16,
      messages: [{ role: 'user' as const, content: 'hi' }],
    };
    const { data, request_id } = await anthropic.messages.create(ask).withResponse();
    expect(data.type).toBe('message');
    expect(request_id).toMatch(GENERATED);
    const err = await anthropic.messages
      .create({ ...ask, model: 'no-such-model' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).requestID).toMatch(GENERATED);
    const [line] = await requestLines(proxy, 1);
    expect(line?.['request_id']).toBe(request_id);
  });

  it("echoes the client's sane x-request-id and ignores an unsafe one", async () => {
    proxy = await startProxy(demo());
    const own = '3f2b8a52-8a43-4c1e-9f0e-0d5d7a8b9c10';
    const echoed = await proxy.client.chat.completions
      .create(ask, { headers: { 'x-request-id': own } })
      .withResponse();
    expect(echoed.request_id).toBe(own);
    const unsafe = await proxy.client.chat.completions
      .create(ask, { headers: { 'x-request-id': 'a'.repeat(129) } })
      .withResponse();
    expect(unsafe.request_id).toMatch(GENERATED);
    const lines = await requestLines(proxy, 2);
    expect(lines.map((l) => l['request_id'])).toEqual([own, unsafe.request_id]);
  });
});

describe('x-request-id with tracing on', () => {
  it('is the trace id, unless the client sent its own, which goes on the span', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    try {
      proxy = await startProxy(demo(), {}, { tracer: tracing.getTracer('request-id-test') });
      const traced = await proxy.client.chat.completions.create(ask).withResponse();
      expect(traced.request_id).toMatch(/^[0-9a-f]{32}$/);
      const own = 'caller-42';
      const echoed = await proxy.client.chat.completions
        .create(ask, { headers: { 'x-request-id': own } })
        .withResponse();
      expect(echoed.request_id).toBe(own);

      const lines = await requestLines(proxy, 2);
      expect(lines[0]).toMatchObject({
        request_id: traced.request_id,
        trace_id: traced.request_id,
      });
      expect(lines[1]?.['request_id']).toBe(own);
      const ownTrace = lines[1]?.['trace_id'];
      const server = exporter
        .getFinishedSpans()
        .find((s) => s.spanContext().traceId === ownTrace && s.parentSpanContext === undefined);
      expect(server?.attributes['http.request.header.x-request-id']).toEqual([own]);
    } finally {
      await proxy?.stop();
      proxy = undefined;
      await tracing.shutdown();
    }
  });
});
